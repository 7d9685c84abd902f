import { type StatWatcher, unwatchFile, watchFile } from "node:fs";
import type { Logger } from "pino";
import { CatalogError } from "../catalog/catalog-error.ts";
import { type CatalogEnvironment, loadCatalog } from "../catalog/load-catalog.ts";
import type { ModelRouter } from "./model-router.ts";

export type CatalogReloaderOptions = {
  file: string;
  /** The environment the service started with, for `${NAME}`. */
  environment: CatalogEnvironment;
  router: ModelRouter;
  logger: Logger;
  /** Counted in `llm_api_catalog_reloads_total{result}`. */
  onReload?: (result: "success" | "failure") => void;
  /** How often the file is looked at; a change is picked up within this (the issue asks 2 s). */
  intervalMs?: number;
};

/**
 * Reloads the models file when it changes (polled: editors replace files rather than write them,
 * which inotify-style watches lose) and on demand (SIGHUP). A file that fails validation changes
 * nothing: the running catalog stays, the problem is logged in its one line and counted.
 */
export class CatalogReloader {
  readonly #options: CatalogReloaderOptions;
  readonly #listener: (
    current: { mtimeMs: number; size: number },
    previous: { mtimeMs: number; size: number },
  ) => void;
  #watcher: StatWatcher | undefined;

  constructor(options: CatalogReloaderOptions) {
    this.#options = options;
    this.#listener = (current, previous) => {
      if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
      this.reload("file changed");
    };
    this.#watcher = watchFile(
      options.file,
      { interval: options.intervalMs ?? 500, persistent: false },
      this.#listener,
    );
  }

  /** Reads the file again; true when the new catalog is now served. */
  reload(reason: string): boolean {
    const { file, environment, router, logger } = this.#options;
    try {
      const catalog = loadCatalog(file, environment);
      router.replace(catalog);
      for (const warning of catalog.warnings) logger.warn(warning);
      logger.info({ reason, file, models: catalog.models.length }, "models file reloaded");
      this.#options.onReload?.("success");
      return true;
    } catch (error) {
      // A reload runs from a timer or a signal: whatever fails, the running catalog must stay.
      if (!(error instanceof CatalogError)) {
        logger.error({ reason, file, err: error }, "models file not reloaded, the running catalog is kept");
        this.#options.onReload?.("failure");
        return false;
      }
      logger.error(
        { reason, file, problem: error.message },
        `models file not reloaded, the running catalog is kept: ${error.message}`,
      );
      this.#options.onReload?.("failure");
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#watcher === undefined) return;
    unwatchFile(this.#options.file, this.#listener);
    this.#watcher = undefined;
  }
}
