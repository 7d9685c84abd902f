import type { Logger } from "pino";
import { type App, buildApp } from "./app.ts";
import { type Config, configuredSecrets, loadConfig } from "./config.ts";
import { ServiceError } from "./errors/service-error.ts";
import type { JobWorker } from "./jobs/job-queue.ts";
import { startJobWorker } from "./jobs/start-job-worker.ts";
import { createLogger } from "./observability/create-logger.ts";
import { exitAfterFlushingLogs, readEnvironment, startOrExitOnConfigError } from "./process-helpers.ts";
import { createServices, type ServiceOverrides, type Services } from "./services.ts";
import { settledWithin } from "./settled-within.ts";
import { isUnavailableDependency } from "./unavailable-dependency.ts";

export type RunningServer = {
  app: App;
  services: Services;
  logger: Logger;
  /** Where it listens, e.g. `http://127.0.0.1:8000`. */
  address: string;
  /** Drains and closes; resolves once everything is closed or the shutdown window ran out. */
  shutdown: (reason: string) => Promise<void>;
};

export type StartServerOptions = ServiceOverrides & {
  /** Defaults to JSON lines on stdout at `config.logLevel` (pretty on a terminal). */
  logger?: Logger;
  /** Lets a caller add routes before listening (the shutdown test adds a slow one). */
  extend?: (app: App) => Promise<void> | void;
};

/** Builds the services and the app, listens on HOST:PORT and returns a handle that shuts it down gracefully. */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const { logger: givenLogger, extend, ...overrides } = options;
  const logger =
    givenLogger ??
    createLogger({
      level: config.logLevel,
      secrets: configuredSecrets(config),
      pretty: process.stdout.isTTY === true,
    });
  const services = await createServices(config, logger, overrides);
  const { app, address } = await buildAndListen(services, extend).catch(async (error: unknown) => {
    await services.close();
    throw error;
  });
  const { jobQueue, knowledgeStore } = services;
  const metrics = services.observability.metrics;
  // RUN_WORKER=false leaves jobs to `npm run worker` processes, so API and workers scale apart.
  const worker =
    config.runWorker && !isUnavailableDependency(jobQueue) && !isUnavailableDependency(knowledgeStore)
      ? startJobWorker({
          config,
          jobQueue,
          knowledgeStore,
          uploads: services.uploads,
          logger,
          onJobFinished: (type, state, durationMs) =>
            metrics.jobFinished(type, state, durationMs === undefined ? undefined : durationMs / 1000),
        })
      : undefined;

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    // The services outlive app.close(): the job worker still uses the queue and store until it stopped.
    closing ??= drainAndClose(app, config, reason, worker).finally(() => services.close());
    return closing;
  };
  return { app, services, logger, address, shutdown };
}

async function buildAndListen(
  services: Services,
  extend: StartServerOptions["extend"],
): Promise<{ app: App; address: string }> {
  const app = await buildApp(services);
  try {
    await extend?.(app);
    const { port, host } = services.config;
    return { app, address: await app.listen({ port, host }) };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** How long the error frames of interrupted streams get to reach their clients. */
const STREAM_ENDING_GRACE_MS = 1000;

/**
 * Readiness fails first; `app.close()` stops accepting connections (while the job worker lets its
 * running jobs finish or returns them to the queue), closes idle keep-alive
 * sockets and waits for in-flight requests; past the shutdown window every stream still open ends
 * with its error frame and every socket is cut.
 */
async function drainAndClose(app: App, config: Config, reason: string, worker?: JobWorker): Promise<void> {
  app.lifecycle.startDraining();
  app.log.info(
    { reason, timeout_ms: config.shutdownTimeoutMs },
    "shutting down: draining in-flight requests",
  );
  // close() reaps idle sockets once; a socket whose request finishes later turns idle afterwards
  // and would hold the exit for the whole keep-alive timeout, so keep reaping while draining.
  const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
  // Running jobs get the window less a margin to finish; the rest go back to the queue in time.
  const jobsStopped = worker?.stop({ timeoutMs: Math.max(0, config.shutdownTimeoutMs - 2000) });
  const appClosed = app.close();
  const closed = await settledWithin(Promise.all([appClosed, jobsStopped]), config.shutdownTimeoutMs, {
    unref: true,
  });
  const outcome = closed ? "closed" : "timeout";
  if (outcome === "timeout") {
    // Streams still open end with their protocol's error frame, so no client takes a cut answer
    // for a finished one; the frames get a moment to be written before the sockets are cut.
    const interrupted = app.streamSlots.interruptAll(
      new ServiceError({
        code: "SHUTTING_DOWN",
        message: "The service shut down before the reply was complete; retry on another instance.",
      }),
    );
    if (interrupted > 0) await settledWithin(appClosed, STREAM_ENDING_GRACE_MS, { unref: true });
    app.log.warn(
      { interrupted_streams: interrupted },
      "shutdown window ran out: closing the remaining connections",
    );
    app.server.closeAllConnections();
  }
  clearInterval(reaper);
  app.log.info({ outcome }, "shut down");
}

/** The process: config from the environment, listen, and drain on SIGTERM/SIGINT, then exit. */
export async function main(options: StartServerOptions = {}): Promise<void> {
  const { config, server } = await startOrExitOnConfigError(async () => {
    const config = loadConfig(readEnvironment());
    return { config, server: await startServer(config, options) };
  });
  const model = config.catalog?.defaultModel ?? config.llmModel;
  server.app.log.info({ address: server.address, model, models_file: config.modelsFile }, "listening");
  if (config.catalog === undefined && (config.llmModel === "echo" || config.llmModel.startsWith("echo:"))) {
    server.app.log.info(
      "Answering with the built-in echo model, which repeats your message. To use a real model set " +
        "LLM_MODEL (openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, ollama:llama3.2) and its key " +
        "(OPENAI_API_KEY, ANTHROPIC_API_KEY); OPENAI_BASE_URL points the openai provider at any " +
        "Chat Completions server.",
    );
  }

  // An operator's "read the models file again"; a bad file keeps the running catalog.
  process.on("SIGHUP", () => {
    if (server.services.catalogReloader === undefined) {
      server.app.log.warn("SIGHUP: no MODELS_FILE is set, so there is nothing to reload");
      return;
    }
    server.services.catalogReloader.reload("SIGHUP");
  });

  let signalled = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (signalled) {
        // A second signal means the operator will not wait.
        process.exit(1);
      }
      signalled = true;
      server.shutdown(signal).then(
        () => exitAfterFlushingLogs(server.logger, 0),
        (error: unknown) => {
          server.app.log.error({ err: error }, "shutdown failed");
          exitAfterFlushingLogs(server.logger, 1);
        },
      );
    });
  }
}

if (import.meta.main) {
  await main();
}
