import type { Logger } from "pino";
import { type App, buildApp } from "../../src/app.ts";
import { configuredSecrets } from "../../src/config.ts";
import { createLogger } from "../../src/observability/create-logger.ts";
import { createServices, type ServiceOverrides } from "../../src/services.ts";
import { createLogCapture } from "./log-capture.ts";
import { testConfig } from "./test-config.ts";

export type TestAppOptions = ServiceOverrides & {
  environment?: Record<string, string>;
  /** Defaults to JSON lines captured in `logs`. */
  logger?: Logger;
  /** Routes a test needs (a route that throws, a slow one) added before the app is ready. */
  extend?: (app: App) => void | Promise<void>;
};

/**
 * The real app over real services with a test config; its log lines are captured in `logs`.
 * The test owns the services, so closing the app closes them too (what was passed in as an
 * override stays open for the test to close).
 */
export async function buildTestApp(options: TestAppOptions = {}) {
  const { environment, logger: givenLogger, extend, ...overrides } = options;
  const config = testConfig({ LOG_LEVEL: "info", ...environment });
  const logs = createLogCapture();
  const logger =
    givenLogger ??
    createLogger({ level: config.logLevel, destination: logs.stream, secrets: configuredSecrets(config) });
  const services = await createServices(config, logger, overrides);
  const app = await buildApp(services);
  app.addHook("onClose", () => services.close());
  await extend?.(app);
  await app.ready();
  return { app, config, logs, services };
}
