# syntax=docker/dockerfile:1
# Node runs the TypeScript sources directly (type stripping), so there is no build stage:
# dependencies -> test (typecheck, lint, tests) -> a slim runtime with production dependencies only.

FROM node:24-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM dependencies AS test
ENV CI=true
# promtool checks the /metrics output, one fault test restarts a Redis server of its own, and the
# web console's tests drive Debian's Chromium; the other tests talk to Redis and PostgreSQL on
# 127.0.0.1, so build this stage with the host's network (`docker build --network host --target test .`).
RUN apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus redis-server chromium >/dev/null \
  && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm run typecheck && npm run lint && npm test

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    HOST=0.0.0.0 \
    DATA_DIR=/app/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
RUN mkdir -p /app/data/ingest && chown -R node:node /app/data
USER node
EXPOSE 8000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "src/server.ts"]
