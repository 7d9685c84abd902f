import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config.ts";
import { SecretSet } from "../secret-set.ts";
import { createBatchedLogDestination } from "./batched-log-destination.ts";

export type LoggerOptions = {
  level: LogLevel;
  /**
   * Values scrubbed from every line, wherever they appear (keys, tokens, passwords). A SecretSet
   * is read on every line, so what is added to it later (a reloaded models file's keys) is
   * scrubbed from then on.
   */
  secrets?: readonly string[] | SecretSet;
  /** Where lines go; defaults to stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  /** Human-readable lines, for a developer's terminal. */
  pretty?: boolean;
};

/** Headers that carry credentials: removed by path before a line is even serialised. */
const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  'headers["x-api-key"]',
];

export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets instanceof SecretSet ? options.secrets : new SecretSet(options.secrets);
  const pinoOptions = {
    level: options.level,
    base: undefined,
    timestamp: isoTimeCachedPerMillisecond,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[REDACTED]" },
  };
  if (options.pretty && !options.destination) {
    return pino({ ...pinoOptions, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  const scrub = scrubber(secrets);
  if (options.destination) {
    // Tests read their lines back at once: no batching, each line scrubbed as it is written.
    const destination = options.destination;
    return pino(pinoOptions, { write: (line: string) => destination.write(scrub(line)) });
  }
  // sonic-boom writes each batch as it gets it (minLength 0); the batching is done in front of it.
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 0 });
  const batched = createBatchedLogDestination(stdout, {
    batchChars: 8192,
    flushIntervalMs: 250,
    transform: scrub,
  });
  // pino flushes its sonic-boom at exit, but not this batch in front of it: ours must go first.
  process.prependOnceListener("exit", () => {
    try {
      batched.flushSync();
    } catch {
      // stdout already closed: nothing more can be written
    }
  });
  return pino(pinoOptions, batched);
}

/**
 * pino's `isoTime` formats a new Date for every line; at thousands of lines a second most lines
 * share their millisecond with the one before, so the formatted field is kept for reuse.
 */
let lastMillisecond = 0;
let lastTimeField = "";
function isoTimeCachedPerMillisecond(): string {
  const now = Date.now();
  if (now !== lastMillisecond) {
    lastMillisecond = now;
    lastTimeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTimeField;
}

/**
 * A secret can reach a line by any field (an error message quoting a URL, a header echoed by an
 * upstream), so finished lines are scrubbed too: a substring search per secret. On stdout it runs
 * once per batch of lines rather than per line (a secret never spans two lines: none holds a newline).
 * The set's current array is read each time, with no copy: no secret at all costs one empty loop.
 */
function scrubber(secrets: SecretSet): (text: string) => string {
  return (text) => {
    let clean = text;
    for (const secret of secrets.values) {
      if (clean.includes(secret)) clean = clean.replaceAll(secret, "[REDACTED]");
    }
    return clean;
  };
}
