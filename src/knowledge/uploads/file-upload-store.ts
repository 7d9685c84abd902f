import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type StoredUpload, UPLOAD_ID_PATTERN, type UploadStore } from "./upload-store.ts";

/**
 * Uploads as files in a folder (`DATA_DIR/uploads`). Each is written under a temporary name and
 * renamed when complete, so a job never reads half a file, and removed whole when its stream fails.
 */
export class FileUploadStore implements UploadStore {
  readonly kind = "files" as const;
  readonly #folder: string;

  constructor(options: { folder: string }) {
    this.#folder = options.folder;
  }

  async save(id: string, stream: Readable): Promise<{ bytes: number }> {
    const final = this.#path(id);
    const partial = `${final}.partial`;
    await mkdir(this.#folder, { recursive: true });
    const handle = await open(partial, "wx", 0o600);
    let bytes = 0;
    try {
      const counted = async function* (source: Readable) {
        for await (const chunk of source) {
          bytes += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      };
      await pipeline(stream, counted, handle.createWriteStream());
      await rename(partial, final);
      return { bytes };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    } finally {
      await handle.close().catch(() => {});
    }
  }

  async read(id: string): Promise<StoredUpload | undefined> {
    try {
      const body = await readFile(this.#path(id));
      return { body, bytes: body.length };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    await rm(this.#path(id), { force: true });
  }

  async close(): Promise<void> {}

  #path(id: string): string {
    if (!UPLOAD_ID_PATTERN.test(id)) throw new Error(`not an upload id: ${id}`);
    return path.join(this.#folder, id);
  }
}
