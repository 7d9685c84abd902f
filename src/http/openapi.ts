import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fastifyPlugin from "fastify-plugin";

/**
 * The OpenAPI document is generated from the routes' TypeBox schemas: `GET /openapi.json`, and a
 * browsable UI at `/docs`. Register before the routes so they are collected.
 */
export const openApiPlugin = fastifyPlugin(
  async function openApi(app: FastifyInstance, options: { version: string }) {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: {
          title: "LLM API Service",
          description: "Chat, streaming, an OpenAI-compatible API and document ingestion.",
          version: options.version,
        },
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer" },
            apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
          },
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
    app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  },
  {
    name: "openapi",
    // Fastify gives a route the error handler set before it was added: /docs errors in our envelope.
    dependencies: ["error-handler"],
  },
);
