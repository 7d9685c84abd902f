import { statfs } from "node:fs/promises";
import path from "node:path";
import { ServiceError } from "../errors/service-error.ts";

/** What `fs.statfs` answers that matters here; tests may give their own. */
export type FileSystemStats = { bavail: number | bigint; bsize: number | bigint };

export type DiskSpaceFloorOptions = {
  /** `DATA_DIR`: the folder whose file system must keep some space free. */
  path: string;
  /** `DATA_DIR_MIN_FREE_BYTES`; 0 turns the floor off. */
  minFreeBytes: number;
  statfs?: (path: string) => Promise<FileSystemStats>;
};

/**
 * The free-space floor of `DATA_DIR` (`DATA_DIR_MIN_FREE_BYTES`): below it, what would write there
 * (an ingest) is refused with 507 INSUFFICIENT_STORAGE, so a full disk cannot corrupt the SQLite
 * files or stop the queue, and `/ready` fails naming it.
 */
export class DiskSpaceFloor {
  readonly path: string;
  readonly minFreeBytes: number;
  readonly #statfs: (path: string) => Promise<FileSystemStats>;

  constructor(options: DiskSpaceFloorOptions) {
    this.path = options.path;
    this.minFreeBytes = options.minFreeBytes;
    this.#statfs = options.statfs ?? ((folder) => statfs(folder));
  }

  /** Bytes an unprivileged process may still write there (`f_bavail`, not the root's reserve). */
  async freeBytes(): Promise<number> {
    // A DATA_DIR not made yet is judged by the file system it will be made on.
    for (let folder = this.path; ; folder = path.dirname(folder)) {
      try {
        const stats = await this.#statfs(folder);
        return Number(stats.bavail) * Number(stats.bsize);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if ((code !== "ENOENT" && code !== "ENOTDIR") || folder === path.dirname(folder)) {
          throw error;
        }
      }
    }
  }

  /** Throws 507 INSUFFICIENT_STORAGE when the free space is below the floor. */
  async check(): Promise<void> {
    if (this.minFreeBytes === 0) return;
    const free = await this.freeBytes();
    if (free < this.minFreeBytes) {
      throw new ServiceError({
        code: "INSUFFICIENT_STORAGE",
        message: "The service is low on storage and accepts no new documents; retry later.",
        retryAfterSeconds: 60,
      });
    }
  }
}
