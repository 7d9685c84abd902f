import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { authenticationPlugin } from "../../src/http/authentication.ts";
import { drainingPlugin } from "../../src/http/draining.ts";
import { openApiPlugin } from "../../src/http/openapi.ts";
import { requestLoggingPlugin } from "../../src/http/request-logging.ts";
import { Lifecycle } from "../../src/lifecycle.ts";
import { InFlightRequests } from "../../src/observability/in-flight-requests.ts";
import { MetricsRegistry } from "../../src/observability/metrics-registry.ts";
import { requestObservationPlugin } from "../../src/observability/request-observation.ts";

const plugins: Record<string, (app: FastifyInstance) => PromiseLike<unknown>> = {
  draining: (app) => app.register(drainingPlugin, { lifecycle: new Lifecycle() }),
  authentication: (app) => app.register(authenticationPlugin, { apiKeys: ["a-key-of-twenty-chars"] }),
  openapi: (app) => app.register(openApiPlugin, { version: "0.0.0" }),
};

for (const [name, register] of Object.entries(plugins)) {
  test(`the ${name} plugin on an app without its dependencies fails the boot, naming what is missing`, async () => {
    const app = Fastify();
    await assert.rejects(
      async () => {
        await register(app);
        await app.ready();
      },
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED");
        assert.match(error.message, new RegExp(`of plugin '${name}' is not registered`));
        return true;
      },
    );
    await app.close();
  });
}

test("registered after the request hooks but before the error handler, draining fails the boot", async () => {
  const app = Fastify();
  await app.register(requestLoggingPlugin);
  await app.register(requestObservationPlugin, {
    metrics: new MetricsRegistry(),
    inFlight: new InFlightRequests(),
    tracing: undefined,
  });
  await assert.rejects(async () => {
    await plugins.draining(app);
    await app.ready();
  }, /The dependency 'error-handler' of plugin 'draining' is not registered/);
  await app.close();
});
