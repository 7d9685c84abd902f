import { Type } from "@fastify/type-provider-typebox";
import type { App } from "../../src/app.ts";

/** Routes that exist only in tests: one with a body schema and one that fails unexpectedly. */
export function addTestRoutes(app: App): void {
  app.post(
    "/test/echo",
    {
      schema: {
        body: Type.Object({ name: Type.String({ maxLength: 10 }), count: Type.Optional(Type.Integer()) }),
      },
    },
    async (request) => ({ received: request.body }),
  );
  app.get("/test/boom", async () => {
    throw new Error("database password hunter2 at /srv/internal/db.ts:42");
  });
  app.post("/v1/test/boom", async () => {
    throw new Error("internal detail");
  });
}
