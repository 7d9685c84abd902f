import { inflateRawSync } from "node:zlib";
import { SourceError } from "../source-error.ts";
import type { ZipEntry } from "./read-zip-directory.ts";

const LOCAL_HEADER = 0x04034b50;

/**
 * Unpacks each entry once, never past the size its directory declares: an archive that lies
 * about its sizes (a zip bomb that passed the declared-size check) fails here with
 * SOURCE_TOO_LARGE, before a library that trusts the declaration (mammoth's JSZip unpacks a
 * part whole, then compares) holds gigabytes. What is unpacked is dropped at once.
 */
export function verifyZipSizes(body: Buffer, entries: readonly ZipEntry[]): void {
  for (const entry of entries) {
    if (entry.method !== 8 && entry.method !== 0) continue;
    const header = entry.localHeaderOffset;
    if (header + 30 > body.length || body.readUInt32LE(header) !== LOCAL_HEADER) {
      throw new SourceError({
        code: "SOURCE_UNREADABLE",
        message: `The ZIP entry ${entry.name} is damaged.`,
      });
    }
    const start = header + 30 + body.readUInt16LE(header + 26) + body.readUInt16LE(header + 28);
    const packed = body.subarray(start, start + entry.compressedBytes);
    if (entry.method === 0) {
      if (packed.length !== entry.uncompressedBytes) lied(entry);
      continue;
    }
    let unpacked: Buffer;
    try {
      unpacked = inflateRawSync(packed, { maxOutputLength: Math.max(1, entry.uncompressedBytes) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") lied(entry);
      throw new SourceError({
        code: "SOURCE_UNREADABLE",
        message: `The ZIP entry ${entry.name} does not unpack.`,
        cause: error,
      });
    }
    if (unpacked.length !== entry.uncompressedBytes) lied(entry);
  }
}

function lied(entry: ZipEntry): never {
  throw new SourceError({
    code: "SOURCE_TOO_LARGE",
    message: `The ZIP entry ${entry.name} does not unpack to the ${entry.uncompressedBytes} bytes it declares: a zip bomb; refused.`,
  });
}
