// One behaviour, two queues: every JobQueue implementation must pass these tests unchanged.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { JobError } from "../../src/jobs/job-error.ts";
import type { JobQueue } from "../../src/jobs/job-queue.ts";
import type { JobRecord } from "../../src/jobs/job-record.ts";
import type { JobFinishedState, JobWorker } from "../../src/jobs/job-worker.ts";
import { waitFor } from "./wait-for.ts";

export type QueueTuning = { attempts?: number; leaseMs?: number; backoffMs?: number };
export type QueueFactory = (
  tuning?: QueueTuning,
) => Promise<{ queue: JobQueue; destroy: () => Promise<void> }>;

type TestContext = { after: (callback: () => unknown) => void };

export async function openQueue(factory: QueueFactory, t: TestContext, tuning?: QueueTuning) {
  const { queue, destroy } = await factory({ attempts: 3, leaseMs: 2000, backoffMs: 50, ...tuning });
  const workers: JobWorker[] = [];
  t.after(async () => {
    await Promise.all(workers.map((worker) => worker.stop({ timeoutMs: 0 })));
    await destroy();
  });
  return { queue, workers };
}

export function finished(queue: JobQueue, id: string): Promise<JobRecord> {
  return waitFor(`job ${id} to finish`, async () => {
    const job = await queue.get(id);
    return job && ["completed", "failed", "cancelled"].includes(job.status) ? job : undefined;
  });
}

/** Waits until the clock has moved past `time`, so the next record is strictly newer. */
function clockPast(time: number): Promise<boolean> {
  return waitFor("the clock to move on", () => Date.now() > time, { intervalMs: 1 });
}

/** A promise the test settles when it chooses: a processor waits on it instead of sleeping. */
function gate(): { opened: Promise<void>; open: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { opened: promise, open: () => resolve() };
}

/** A result written once per job id, as a real processor writes its output. */
class ResultLog {
  readonly runs = new Map<string, number>();
  record(id: string): void {
    this.runs.set(id, (this.runs.get(id) ?? 0) + 1);
  }
}

export function describeJobQueueConformance(name: string, factory: QueueFactory): void {
  describe(`JobQueue conformance: ${name}`, () => {
    test("enqueue answers a queued record that get reads back; an unknown id is undefined", async (t) => {
      const { queue } = await openQueue(factory, t);
      const job = await queue.enqueue({ type: "echo", payload: { word: "hi" }, source: "hello.txt" });
      assert.equal(job.status, "queued");
      assert.equal(job.progress, 0);
      const read = await queue.get(job.id);
      assert.ok(read);
      assert.equal(read.id, job.id);
      assert.equal(read.status, "queued");
      assert.equal(read.type, "echo");
      assert.equal(read.source, "hello.txt");
      assert.deepEqual(read.payload, { word: "hi" });
      assert.ok(read.createdAt > Date.now() - 60_000 && read.createdAt <= Date.now());
      assert.equal(await queue.get("00000000-0000-0000-0000-000000000000"), undefined);
      assert.equal((await queue.counts()).queued, 1);
    });

    test("a worker runs the job, stores its result and reports the outcome and duration", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      const outcomes: [string, JobFinishedState][] = [];
      workers.push(
        queue.startWorker({
          concurrency: 2,
          processors: { echo: async (job) => ({ echoed: (job.payload as { word: string }).word }) },
          onJobFinished: (type, state, durationMs) => {
            assert.ok(durationMs !== undefined && durationMs >= 0, "a run is timed");
            outcomes.push([type, state]);
          },
        }),
      );
      const job = await queue.enqueue({ type: "echo", payload: { word: "hi" } });
      const done = await finished(queue, job.id);
      assert.equal(done.status, "completed");
      assert.equal(done.progress, 100);
      assert.deepEqual(done.result, { echoed: "hi" });
      assert.equal(done.error, null);
      assert.ok(done.updatedAt >= done.createdAt);
      await waitFor("the finish callback", () => outcomes.length === 1);
      assert.deepEqual(outcomes, [["echo", "completed"]]);
    });

    test("progress never goes backwards and subscribers see it until the final state", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      const job = await queue.enqueue({ type: "steps", payload: null });
      const seen: JobRecord[] = [];
      const unsubscribe = queue.subscribe(job.id, (record) => seen.push(record));
      t.after(unsubscribe);
      // What the queue held after each report, read before the next one.
      const stored: number[] = [];
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: {
            steps: async (running) => {
              let highest = 0;
              for (const percent of [30, 10, 60, 40, 80]) {
                await running.reportProgress(percent);
                highest = Math.max(highest, percent);
                stored.push((await queue.get(running.id))?.progress ?? -1);
                // Each step waits until the subscriber has seen the highest value so far, so every
                // step is seen whatever the phase of the subscriber's polling.
                await waitFor(`the subscriber to see ${highest}`, () => seen.at(-1)?.progress === highest);
              }
              return "done";
            },
          },
        }),
      );
      await waitFor("the final event", () => seen.at(-1)?.status === "completed");
      assert.deepEqual(stored, [30, 30, 60, 60, 80], "a lower report leaves the stored progress alone");
      const progress = seen.map((record) => record.progress);
      assert.deepEqual(
        progress,
        [...progress].sort((a, b) => a - b),
        `progress went backwards: ${progress}`,
      );
      assert.deepEqual(
        [...new Set(progress.filter((percent) => percent > 0 && percent < 100))],
        [30, 60, 80],
        `every step seen, and nothing else: ${progress}`,
      );
      assert.equal(seen.at(-1)?.progress, 100);
    });

    test("a failing job is retried with backoff and completes on a later attempt", async (t) => {
      const { queue, workers } = await openQueue(factory, t, { attempts: 3, backoffMs: 100 });
      const attempts: number[] = [];
      const startedAt: number[] = [];
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: {
            flaky: async (job) => {
              attempts.push(job.attempt);
              startedAt.push(Date.now());
              if (job.attempt < 3) throw new Error("transient");
              return "third time lucky";
            },
          },
        }),
      );
      const job = await queue.enqueue({ type: "flaky", payload: null });
      const done = await finished(queue, job.id);
      assert.equal(done.status, "completed");
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal(done.attempts, 3);
      // Exponential: the second wait is at least the doubled base.
      assert.ok(startedAt[1] - startedAt[0] >= 90, `first backoff ${startedAt[1] - startedAt[0]} ms`);
      assert.ok(startedAt[2] - startedAt[1] >= 180, `second backoff ${startedAt[2] - startedAt[1]} ms`);
    });

    test("a job fails after its attempts; a non-retryable code fails at once; internals stay hidden", async (t) => {
      const { queue, workers } = await openQueue(factory, t, { attempts: 2, backoffMs: 20 });
      const runs = new ResultLog();
      workers.push(
        queue.startWorker({
          concurrency: 2,
          processors: {
            broken: async (job) => {
              runs.record(job.id);
              throw new Error("password=hunter2 at /srv/db.ts");
            },
            refused: async (job) => {
              runs.record(job.id);
              throw new JobError({ code: "SOURCE_REFUSED", message: "The source is not allowed." });
            },
            "timing-out": async (job) => {
              runs.record(job.id);
              throw new JobError({ code: "SOURCE_TIMEOUT", message: "Fetching the URL timed out." });
            },
          },
        }),
      );
      const broken = await queue.enqueue({ type: "broken", payload: null });
      const refused = await queue.enqueue({ type: "refused", payload: null });
      const timingOut = await queue.enqueue({ type: "timing-out", payload: null });
      const unknown = await queue.enqueue({ type: "no-such-type", payload: null });
      const brokenDone = await finished(queue, broken.id);
      assert.equal(brokenDone.status, "failed");
      assert.equal(runs.runs.get(broken.id), 2);
      assert.equal(brokenDone.error, "The job failed with an internal error.");
      assert.equal(brokenDone.errorCode, "JOB_FAILED");
      const refusedDone = await finished(queue, refused.id);
      assert.equal(refusedDone.status, "failed");
      assert.equal(refusedDone.error, "The source is not allowed.");
      assert.equal(refusedDone.errorCode, "SOURCE_REFUSED");
      assert.equal(runs.runs.get(refused.id), 1);
      // A retryable code is retried, then fails with its own message and code.
      const timingOutDone = await finished(queue, timingOut.id);
      assert.equal(timingOutDone.status, "failed");
      assert.equal(runs.runs.get(timingOut.id), 2);
      assert.equal(timingOutDone.error, "Fetching the URL timed out.");
      assert.equal(timingOutDone.errorCode, "SOURCE_TIMEOUT");
      const unknownDone = await finished(queue, unknown.id);
      assert.equal(unknownDone.status, "failed");
      assert.match(unknownDone.error ?? "", /no-such-type/);
      assert.equal(unknownDone.errorCode, "UNKNOWN_JOB_TYPE");
    });

    test("while a job waits for its next attempt it shows the last attempt's failure and code", async (t) => {
      const { queue, workers } = await openQueue(factory, t, { attempts: 2, backoffMs: 100 });
      const secondAttempt = gate();
      t.after(secondAttempt.open);
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: {
            flaky: async (job) => {
              if (job.attempt === 1) {
                throw new JobError({ code: "SOURCE_FETCH_FAILED", message: "The URL answered HTTP 503." });
              }
              await secondAttempt.opened;
              return "recovered";
            },
          },
        }),
      );
      const job = await queue.enqueue({ type: "flaky", payload: null });
      const retrying = await waitFor("the first attempt's failure", async () => {
        const record = await queue.get(job.id);
        return record?.error ? record : undefined;
      });
      assert.notEqual(retrying.status, "failed");
      assert.equal(retrying.error, "The URL answered HTTP 503.");
      assert.equal(retrying.errorCode, "SOURCE_FETCH_FAILED");
      secondAttempt.open();
      const done = await finished(queue, job.id);
      assert.equal(done.status, "completed");
      assert.equal(done.error, null);
      assert.equal(done.errorCode, null);
    });

    test("a queued job is cancelled at once and never runs", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      const runs = new ResultLog();
      const job = await queue.enqueue({ type: "echo", payload: null });
      const cancelled = await queue.cancel(job.id);
      assert.equal(cancelled?.status, "cancelled");
      assert.equal((await queue.get(job.id))?.status, "cancelled");
      const other = await queue.enqueue({ type: "echo", payload: null });
      // One at a time, oldest first: by the time the later job has finished, the cancelled one
      // would have run had it still been queued.
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: { echo: async (running) => runs.record(running.id) },
        }),
      );
      await finished(queue, other.id);
      assert.equal(runs.runs.get(other.id), 1);
      assert.equal(runs.runs.has(job.id), false);
      assert.equal((await queue.get(job.id))?.status, "cancelled");
      assert.equal((await queue.counts()).cancelled, 1);
      assert.equal(await queue.cancel("00000000-0000-0000-0000-000000000000"), undefined);
    });

    test("a running job stops at its next step once cancelled", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      let steps = 0;
      let sawAbort = false;
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: {
            long: async (job) => {
              job.signal.addEventListener("abort", () => {
                sawAbort = true;
              });
              for (let step = 1; step <= 100; step += 1) {
                steps = step;
                await job.reportProgress(step);
                // A step of work; the job runs for seconds unless it is cancelled.
                await sleep(50);
              }
              return "should not finish";
            },
          },
        }),
      );
      const job = await queue.enqueue({ type: "long", payload: null });
      await waitFor("the job to make progress", async () => ((await queue.get(job.id))?.progress ?? 0) >= 3);
      const answer = await queue.cancel(job.id);
      assert.equal(answer?.status, "running");
      const done = await finished(queue, job.id);
      assert.equal(done.status, "cancelled");
      assert.ok(steps < 100, `stopped after ${steps} steps`);
      assert.ok(done.progress >= 3 && done.progress < 100);
      assert.ok(sawAbort, "the processor's signal aborted");
    });

    test("list filters by status and pages newest first; counts by state", async (t) => {
      const { queue } = await openQueue(factory, t);
      const ids: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const job = await queue.enqueue({ type: "echo", payload: { index } });
        ids.push(job.id);
        // Distinct creation times, so "newest first" has one answer.
        await clockPast(job.createdAt);
      }
      await queue.cancel(ids[0]);
      const firstPage = await queue.list({ status: "queued", limit: 2, offset: 0 });
      assert.equal(firstPage.total, 4);
      assert.deepEqual(
        firstPage.jobs.map((job) => job.id),
        [ids[4], ids[3]],
      );
      const secondPage = await queue.list({ status: "queued", limit: 2, offset: 2 });
      assert.deepEqual(
        secondPage.jobs.map((job) => job.id),
        [ids[2], ids[1]],
      );
      const cancelled = await queue.list({ status: "cancelled", limit: 10, offset: 0 });
      assert.deepEqual(
        cancelled.jobs.map((job) => job.id),
        [ids[0]],
      );
      const everything = await queue.list({ limit: 10, offset: 0 });
      assert.equal(everything.total, 5);
      assert.equal(everything.jobs.length, 5);
      assert.deepEqual(await queue.counts(), {
        queued: 4,
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 1,
      });
    });

    test("stop lets a running job finish within the window: it runs once", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      const runs = new ResultLog();
      const release = gate();
      t.after(release.open);
      const worker = queue.startWorker({
        concurrency: 1,
        processors: {
          slow: async (job) => {
            runs.record(job.id);
            await release.opened;
            return "finished";
          },
        },
      });
      const job = await queue.enqueue({ type: "slow", payload: null });
      await waitFor("the job to start", () => runs.runs.has(job.id));
      const stopped = worker.stop({ timeoutMs: 5000 });
      // An observation window, not a wait for something: for this long stop keeps waiting for
      // the job it holds, which keeps running (the test ends the job only afterwards).
      const early = await Promise.race([stopped.then(() => "returned"), sleep(300).then(() => "waiting")]);
      assert.equal(early, "waiting", "stop waits for the running job");
      assert.equal((await queue.get(job.id))?.status, "running");
      release.open();
      await stopped;
      assert.equal((await queue.get(job.id))?.status, "completed");
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: { slow: async (running) => runs.record(running.id) },
        }),
      );
      // One at a time, oldest first: had the first job been queued again, it would run before this.
      const marker = await queue.enqueue({ type: "slow", payload: null });
      await finished(queue, marker.id);
      assert.equal(runs.runs.get(job.id), 1);
    });

    test("past the shutdown window a running job goes back to the queue and another worker completes it", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      const worker = queue.startWorker({
        concurrency: 1,
        processors: {
          stuck: async (job) => {
            if (job.attempt === 1 && job.source !== "second") {
              await new Promise((resolve) => job.signal.addEventListener("abort", resolve));
              throw new Error("interrupted");
            }
            return "done";
          },
        },
      });
      const job = await queue.enqueue({ type: "stuck", payload: null });
      await waitFor("the job to run", async () => (await queue.get(job.id))?.status === "running");
      const stoppedAt = Date.now();
      await worker.stop({ timeoutMs: 300 });
      assert.ok(Date.now() - stoppedAt < 3000);
      const returned = await queue.get(job.id);
      assert.equal(returned?.status, "queued");
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: { stuck: async () => "done by the second worker" },
        }),
      );
      const done = await finished(queue, job.id);
      assert.equal(done.status, "completed");
      assert.equal(done.result, "done by the second worker");
    });
  });
}
