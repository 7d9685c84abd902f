import { SourceError } from "../source-error.ts";

/** A file inside a ZIP archive, as its central directory declares it. */
export type ZipEntry = {
  name: string;
  /** 0 stored, 8 deflated; others are not read. */
  method: number;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Where the entry's local header starts. */
  localHeaderOffset: number;
};

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
/** The end record is 22 bytes, followed by a comment of at most 65,535. */
const END_RECORD_SEARCH = 22 + 0xffff;

/**
 * The entries of a ZIP archive from its central directory, without unpacking anything: what a
 * DOCX holds and how large it says it unpacks to, read before any decompression starts. ZIP64
 * archives (sizes of 0xFFFFFFFF) are refused: no Word file needs one, and a bomb would.
 */
export function readZipDirectory(body: Buffer): ZipEntry[] {
  const corrupt = (reason: string): never => {
    throw new SourceError({ code: "SOURCE_UNREADABLE", message: `The ZIP archive is corrupt: ${reason}.` });
  };
  let end = -1;
  for (let offset = body.length - 22; offset >= Math.max(0, body.length - END_RECORD_SEARCH); offset -= 1) {
    if (body.readUInt32LE(offset) === END_OF_DIRECTORY) {
      end = offset;
      break;
    }
  }
  if (end < 0) corrupt("it has no central directory");
  const count = body.readUInt16LE(end + 10);
  const directoryBytes = body.readUInt32LE(end + 12);
  const directoryStart = body.readUInt32LE(end + 16);
  if (count === 0xffff || directoryStart === 0xffffffff) zip64();
  if (directoryStart + directoryBytes > end) corrupt("its directory lies outside the file");

  const entries: ZipEntry[] = [];
  let offset = directoryStart;
  for (let index = 0; index < count; index += 1) {
    if (offset + 46 > end || body.readUInt32LE(offset) !== DIRECTORY_ENTRY)
      corrupt("a directory entry is damaged");
    const method = body.readUInt16LE(offset + 10);
    const compressedBytes = body.readUInt32LE(offset + 20);
    const uncompressedBytes = body.readUInt32LE(offset + 24);
    const nameLength = body.readUInt16LE(offset + 28);
    const extraLength = body.readUInt16LE(offset + 30);
    const commentLength = body.readUInt16LE(offset + 32);
    const localHeaderOffset = body.readUInt32LE(offset + 42);
    if (compressedBytes === 0xffffffff || uncompressedBytes === 0xffffffff) zip64();
    const name = body.toString("utf8", offset + 46, offset + 46 + nameLength);
    entries.push({ name, method, compressedBytes, uncompressedBytes, localHeaderOffset });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function zip64(): never {
  throw new SourceError({
    code: "SOURCE_TOO_LARGE",
    message: "The archive uses ZIP64 sizes, which no document this service reads needs; refused.",
  });
}
