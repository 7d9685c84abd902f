// npm run bench:jobs [-- --jobs 5000 --workers 8 --queues sqlite,bullmq --redis redis://127.0.0.1:6379]
// Enqueue and completion rates of a no-op job on each queue. Prints a table on stderr, writes
// bench/results/jobs-<date>.json and prints the same JSON as the last line of stdout.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { BullmqJobQueue } from "../src/jobs/bullmq-job-queue.ts";
import type { JobQueue } from "../src/jobs/job-queue.ts";
import { SqliteJobQueue } from "../src/jobs/sqlite-job-queue.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "5000" },
    workers: { type: "string", default: "8" },
    queues: { type: "string", default: "sqlite,bullmq" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
    "batch-size": { type: "string", default: "500" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "usage: node bench/jobs-bench.ts [--jobs N] [--workers N] [--queues sqlite,bullmq] [--redis URL] [--batch-size N]\n",
  );
  process.exit(0);
}
const jobCount = Number(values.jobs);
const concurrency = Number(values.workers);
const batchSize = Number(values["batch-size"]);

type Scenario = {
  queue: string;
  jobs: number;
  workers: number;
  enqueue_seconds: number;
  enqueued_per_second: number;
  complete_seconds: number;
  completed_per_second: number;
};

async function measure(kind: string, queue: JobQueue): Promise<Scenario> {
  // Enqueue as an API would: many requests in flight at once, `batch-size` at a time.
  const enqueueStart = performance.now();
  for (let sent = 0; sent < jobCount; sent += batchSize) {
    const size = Math.min(batchSize, jobCount - sent);
    await Promise.all(Array.from({ length: size }, () => queue.enqueue({ type: "noop", payload: null })));
  }
  const enqueueSeconds = (performance.now() - enqueueStart) / 1000;

  let completed = 0;
  const allDone = Promise.withResolvers<void>();
  const completeStart = performance.now();
  const worker = queue.startWorker({
    concurrency,
    processors: { noop: async () => null },
    onJobFinished: (_type, state) => {
      if (state === "completed" && ++completed === jobCount) allDone.resolve();
    },
  });
  await allDone.promise;
  const completeSeconds = (performance.now() - completeStart) / 1000;
  await worker.stop({ timeoutMs: 5000 });
  const counts = await queue.counts();
  if (counts.completed !== jobCount)
    throw new Error(`${kind}: ${counts.completed} of ${jobCount} recorded as completed`);
  return {
    queue: kind,
    jobs: jobCount,
    workers: concurrency,
    enqueue_seconds: round(enqueueSeconds),
    enqueued_per_second: Math.round(jobCount / enqueueSeconds),
    complete_seconds: round(completeSeconds),
    completed_per_second: Math.round(jobCount / completeSeconds),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

const scenarios: Scenario[] = [];
for (const kind of values.queues.split(",").map((name) => name.trim())) {
  const common = { attempts: 3, retentionMs: 3_600_000, leaseMs: 30_000, backoffMs: 1000 };
  if (kind === "sqlite") {
    const folder = mkdtempSync(path.join(tmpdir(), "jobs-bench-"));
    const queue = new SqliteJobQueue({ file: path.join(folder, "jobs.sqlite"), ...common });
    try {
      scenarios.push(await measure(kind, queue));
    } finally {
      await queue.close();
      rmSync(folder, { recursive: true, force: true });
    }
  } else if (kind === "bullmq") {
    const queue = new BullmqJobQueue({
      redisUrl: values.redis,
      name: `bench-${randomUUID()}`,
      prefix: "llm-api-bench",
      ...common,
    });
    try {
      scenarios.push(await measure(kind, queue));
    } finally {
      await queue.destroy();
      await queue.close();
    }
  } else {
    throw new Error(`unknown queue "${kind}": use sqlite and/or bullmq`);
  }
}

const report = {
  benchmark: "jobs",
  date: new Date().toISOString(),
  node: process.version,
  targets: { enqueued_per_second: 2000, completed_per_second: 1000 },
  scenarios,
};
for (const scenario of scenarios) {
  process.stderr.write(
    `${scenario.queue.padEnd(7)} enqueue ${String(scenario.enqueued_per_second).padStart(6)} jobs/s   ` +
      `complete ${String(scenario.completed_per_second).padStart(6)} jobs/s   (${scenario.jobs} no-op jobs, ${scenario.workers} workers)\n`,
  );
}
const resultsFolder = path.join(import.meta.dirname, "results");
mkdirSync(resultsFolder, { recursive: true });
writeFileSync(path.join(resultsFolder, "jobs-latest.json"), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
