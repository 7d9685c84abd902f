import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { keyIdOf } from "../access/principal.ts";
import { isAnthropicRoute } from "./error-body.ts";
import { onResponseClose } from "./response-close.ts";
import { routeLabel } from "./route-label.ts";

/** nginx's "client closed request", logged when the client left before the response ended. */
const CLIENT_CLOSED_STATUS = 499;

/**
 * Echoes the request id on every response (404s, errors and streams included: the header is set
 * before any handler runs) and writes one log line per finished request. The line is written on
 * the response's `close`, because Fastify's `onResponse` never runs for a stream the client
 * abandoned, and those requests matter most.
 */
export const requestLoggingPlugin = fastifyPlugin(
  async function requestLogging(app: FastifyInstance) {
    app.addHook("onRequest", (request, reply, done) => {
      reply.header("x-request-id", request.id);
      // Anthropic's SDKs read theirs from `request-id` (its `_request_id`, and in error reports).
      if (isAnthropicRoute(request)) reply.header("request-id", request.id);
      onResponseClose(reply.raw, () => {
        const completed = reply.raw.writableEnded;
        const line: Record<string, unknown> = {
          method: request.method,
          path: routeLabel(request),
          status: completed ? reply.statusCode : CLIENT_CLOSED_STATUS,
          duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        };
        // A virtual key is named by its id, never its secret. Added rather than spread from an
        // object of its own: one object a line.
        const keyId = keyIdOf(request.principal);
        if (keyId !== undefined) line.key_id = keyId;
        request.log.info(line, completed ? "request completed" : "request abandoned by the client");
      });
      done();
    });
  },
  { name: "request-logging" },
);
