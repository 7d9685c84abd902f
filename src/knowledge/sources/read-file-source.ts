import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import path from "node:path";
import { SourceError, type SourceErrorCode } from "../source-error.ts";
import { mediaTypeFor } from "./media-type-for.ts";
import type { SourceDocument } from "./source-document.ts";

export type ReadFileSourceOptions = { ingestRoot: string; maxBytes: number };

/**
 * Reads a file named relative to INGEST_ROOT. Refused before anything is opened: absolute
 * paths, `..` segments, backslashes, percent-encoding (`%2e%2e%2f`), NUL bytes, and any path
 * whose real location (symlinks resolved) is outside the root. Only regular files are read.
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
  let real: string;
  try {
    real = await realpath(path.resolve(root, source));
  } catch {
    throw new SourceError({
      code: "SOURCE_NOT_FOUND",
      message: "The file source does not exist under INGEST_ROOT.",
    });
  }
  if (!real.startsWith(root + path.sep)) refuse("it resolves outside INGEST_ROOT");

  // O_NOFOLLOW: the path was resolved above, so a symlink swapped in since then is refused, and
  // O_NONBLOCK keeps a FIFO from blocking the open; it is then refused as not a regular file.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => refuse("it cannot be opened"),
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) refuse("it is not a regular file");
    if (stats.size > options.maxBytes) {
      refuse(`it is ${stats.size} bytes, more than the ${options.maxBytes} allowed`, "SOURCE_TOO_LARGE");
    }
    const body = await handle.readFile();
    return { source, body, contentType: mediaTypeFor(real) };
  } finally {
    await handle.close();
  }
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
