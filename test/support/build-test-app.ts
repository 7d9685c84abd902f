import { type App, type AppOptions, buildApp } from "../../src/app.ts";
import { secretValues } from "../../src/config.ts";
import { createLogger } from "../../src/observability/create-logger.ts";
import { createLogCapture } from "./log-capture.ts";
import { testConfig } from "./test-config.ts";

export type TestAppOptions = Partial<Omit<AppOptions, "config">> & {
  environment?: Record<string, string>;
  /** Routes a test needs (a route that throws, a slow one) added before the app is ready. */
  extend?: (app: App) => void | Promise<void>;
};

/** The real app with a test config; its log lines are captured in `logs`. */
export async function buildTestApp(options: TestAppOptions = {}) {
  const config = testConfig({ LOG_LEVEL: "info", ...options.environment });
  const logs = createLogCapture();
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, destination: logs.stream, secrets: secretValues(config) });
  const app = await buildApp({ ...options, config, logger });
  await options.extend?.(app);
  await app.ready();
  return { app, config, logs };
}
