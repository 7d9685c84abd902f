import { constants, type Stats } from "node:fs";
import { type FileHandle, open, readlink, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { SourceError, type SourceErrorCode } from "../source-error.ts";
import type { SourceDocument } from "./source-document.ts";

export type ReadFileSourceOptions = { ingestRoot: string; maxBytes: number };

const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Reads a file named relative to INGEST_ROOT. Refused before anything is opened: absolute
 * paths, `..` segments, backslashes, percent-encoding (`%2e%2e%2f`), NUL bytes, and any path
 * whose real location (symlinks resolved) is outside the root. What is then opened is judged by
 * its descriptor, not its name, so a folder swapped for a symlink meanwhile cannot lead outside.
 * Only regular files are read, and never more than `maxBytes + 1` bytes, whatever their size said.
 */
export async function readFileSource(
  source: string,
  options: ReadFileSourceOptions,
): Promise<SourceDocument> {
  const refuse = (reason: string, code: SourceErrorCode = "SOURCE_REFUSED"): never => {
    throw new SourceError({ code, message: `The file source is refused: ${reason}.` });
  };
  const problem = fileSourceProblem(source);
  if (problem) refuse(problem);

  let root: string;
  try {
    root = await realpath(options.ingestRoot);
  } catch {
    return refuse("INGEST_ROOT does not exist");
  }

  const named = path.resolve(root, source);
  // Judged by name first, so a path that leads out (a symlink to a folder outside) opens nothing.
  let resolved: string;
  try {
    resolved = await realpath(named);
  } catch {
    throw new SourceError({
      code: "SOURCE_NOT_FOUND",
      message: "The file source does not exist under INGEST_ROOT.",
    });
  }
  if (!resolved.startsWith(root + path.sep)) refuse("it resolves outside INGEST_ROOT");

  // The name may change between that check and the open (a folder on the way swapped for a
  // symlink), so what was opened is judged again below, on the descriptor, before a byte is read.
  // O_NOFOLLOW refuses a symlink as the last component; O_NONBLOCK keeps a FIFO from blocking the
  // open (it is then refused as not a regular file); O_NOCTTY keeps a terminal from becoming ours.
  const handle = await open(
    named,
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
  ).catch(() => refuse("it cannot be opened"));
  try {
    const opened = await handle.stat();
    const real = await openedPath(handle, named);
    if (real === undefined || !real.startsWith(root + path.sep)) refuse("it resolves outside INGEST_ROOT");
    // The real path must still name the very file that was opened (same device and inode), so a
    // stale or forged answer for the path cannot vouch for another file.
    const atReal = await stat(real as string).catch(() => undefined);
    if (atReal === undefined || !sameFile(atReal, opened)) refuse("it resolves outside INGEST_ROOT");
    if (!opened.isFile()) refuse("it is not a regular file");
    if (opened.size > options.maxBytes) {
      refuse(`it is ${opened.size} bytes, more than the ${options.maxBytes} allowed`, "SOURCE_TOO_LARGE");
    }
    const body = await readAtMost(handle, options.maxBytes + 1);
    // The file grew after its size was read: what lies past the cap is never read.
    if (body.length > options.maxBytes) {
      refuse(`it holds more than the ${options.maxBytes} bytes allowed`, "SOURCE_TOO_LARGE");
    }
    return { source, body, contentType: "" };
  } finally {
    await handle.close();
  }
}

/**
 * Where the opened file really is. On Linux the kernel tells, through `/proc/self/fd/N`, for the
 * descriptor itself; elsewhere the name is resolved again after the open, and the device and inode
 * check of the caller makes sure it leads to the same file.
 */
async function openedPath(handle: FileHandle, name: string): Promise<string | undefined> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return realpath(name).catch(() => undefined);
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Up to `limit` bytes from the start of the file: a file that keeps growing is cut there. */
async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, limit - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
    if (bytesRead === 0) break;
    chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    total += bytesRead;
  }
  return Buffer.concat(chunks, total);
}

/** Why a file source's name alone is refused, or undefined; checked again when the job reads it. */
export function fileSourceProblem(source: string): string | undefined {
  if (source.includes("\0")) return "it contains a NUL byte";
  if (/%[0-9a-f]{2}/i.test(source)) return "percent-encoded paths are not accepted";
  if (source.includes("\\")) return "backslashes are not accepted";
  if (path.isAbsolute(source) || /^[a-z]:/i.test(source)) return "absolute paths are not accepted";
  if (source.split("/").includes("..")) return "'..' is not accepted";
  return undefined;
}
