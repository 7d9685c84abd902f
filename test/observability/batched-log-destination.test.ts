import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  createBatchedLogDestination,
  type LogSink,
} from "../../src/observability/batched-log-destination.ts";
import { waitFor } from "../support/wait-for.ts";

function recordingSink(): LogSink & { writes: string[]; flushes: number; syncFlushes: number } {
  const sink = {
    writes: [] as string[],
    flushes: 0,
    syncFlushes: 0,
    write(text: string) {
      sink.writes.push(text);
    },
    flush(callback?: (error?: Error) => void) {
      sink.flushes += 1;
      callback?.();
    },
    flushSync() {
      sink.syncFlushes += 1;
    },
  };
  return sink;
}

test("lines are held until a batch is full, then written in order as one write", () => {
  const sink = recordingSink();
  const destination = createBatchedLogDestination(sink, { batchChars: 20, flushIntervalMs: 60_000 });
  destination.write("line one\n");
  destination.write("line two\n");
  assert.deepEqual(sink.writes, []);
  destination.write("line three\n");
  assert.deepEqual(sink.writes, ["line one\nline two\nline three\n"]);
  destination.write("four\n");
  assert.equal(sink.writes.length, 1, "the next batch starts empty");
});

test("flush and flushSync hand over a partial batch before flushing the sink", async () => {
  const sink = recordingSink();
  const destination = createBatchedLogDestination(sink, { batchChars: 8192, flushIntervalMs: 60_000 });
  destination.write("a\n");
  await new Promise<void>((resolve) => destination.flush(() => resolve()));
  assert.deepEqual(sink.writes, ["a\n"]);
  assert.equal(sink.flushes, 1);
  destination.write("b\n");
  destination.flushSync();
  assert.deepEqual(sink.writes, ["a\n", "b\n"]);
  assert.equal(sink.syncFlushes, 1);
  destination.flushSync();
  assert.deepEqual(sink.writes, ["a\n", "b\n"], "an empty batch is not written");
});

test("a quiet logger's partial batch is written by the interval", async () => {
  const sink = recordingSink();
  const destination = createBatchedLogDestination(sink, { batchChars: 8192, flushIntervalMs: 20 });
  destination.write("only line\n");
  assert.deepEqual(sink.writes, [], "a partial batch waits");
  await waitFor("the interval to hand the batch over", () => sink.writes.length > 0, { timeoutMs: 2000 });
  assert.deepEqual(sink.writes, ["only line\n"]);
});

test("the transform sees whole batches", () => {
  const sink = recordingSink();
  const destination = createBatchedLogDestination(sink, {
    batchChars: 10,
    flushIntervalMs: 60_000,
    transform: (batch) => batch.replaceAll("secret", "[REDACTED]"),
  });
  destination.write("a secret\n");
  destination.write("x\n");
  assert.deepEqual(sink.writes, ["a [REDACTED]\nx\n"]);
});

test("a process that exits at once still writes its batched stdout lines, scrubbed", async () => {
  const createLogger = path.resolve(import.meta.dirname, "../../src/observability/create-logger.ts");
  // No flush before process.exit: the exit hook must write what the batch holds.
  const script = `
    import { createLogger } from ${JSON.stringify(createLogger)};
    const logger = createLogger({ level: "info", secrets: ["hunter2-canary"] });
    for (let index = 0; index < 3; index += 1) logger.info({ index }, "key hunter2-canary in line");
    process.exit(0);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "--eval", script]);
  const lines = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    lines.map((line) => line.index),
    [0, 1, 2],
  );
  assert.ok(!stdout.includes("hunter2-canary"), stdout);
  assert.match(lines[0].msg, /\[REDACTED\]/);
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});
