import { Writable } from "node:stream";

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A pino destination that keeps every line, so tests read the real log output back. */
export function createLogCapture() {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(...chunk.toString().split("\n").filter(Boolean));
      callback();
    },
  });
  return {
    stream,
    raw,
    lines: (): LogLine[] => raw.map((line) => JSON.parse(line) as LogLine),
    text: (): string => raw.join("\n"),
  };
}
