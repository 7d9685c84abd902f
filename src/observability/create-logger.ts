import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config.ts";

export type LoggerOptions = {
  level: LogLevel;
  /** Values scrubbed from every line, wherever they appear (keys, tokens, passwords). */
  secrets?: readonly string[];
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
  const secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
  const pinoOptions = {
    level: options.level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[REDACTED]" },
  };
  if (options.pretty && !options.destination) {
    return pino({ ...pinoOptions, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  const destination = options.destination ?? createStdoutDestination();
  return pino(pinoOptions, secrets.length > 0 ? scrubbing(destination, secrets) : destination);
}

/**
 * Lines are gathered up to 8 KiB (sonic-boom writes at most 16 KiB at once) before one write: a write per line was a fifth of a request's CPU
 * in the profile. A quiet service must not sit on its last lines, so the buffer is also flushed
 * every quarter second (and on exit, by pino).
 */
function createStdoutDestination(): DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 8192 });
  const timer = setInterval(() => {
    try {
      stdout.flush();
    } catch {
      clearInterval(timer); // the stream was closed at exit
    }
  }, 250);
  timer.unref();
  return stdout;
}

/**
 * A secret can reach a line by any field (an error message quoting a URL, a header echoed by an
 * upstream), so the finished line is scrubbed too; the check is a substring search per secret.
 */
function scrubbing(destination: DestinationStream, secrets: readonly string[]): DestinationStream {
  const scrub = (line: string): string => {
    let clean = line;
    for (const secret of secrets) if (clean.includes(secret)) clean = clean.replaceAll(secret, "[REDACTED]");
    return clean;
  };
  const flushable = destination as DestinationStream & {
    flushSync?: () => void;
    flush?: (callback?: (error?: Error) => void) => void;
  };
  return {
    write: (line: string) => destination.write(scrub(line)),
    flushSync: () => flushable.flushSync?.(),
    flush: (callback?: (error?: Error) => void) =>
      flushable.flush ? flushable.flush(callback) : callback?.(),
  } as DestinationStream;
}
