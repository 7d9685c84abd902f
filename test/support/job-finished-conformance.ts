// What a run's onFinished listeners hear, the same on every JobQueue: the state the worker recorded,
// which the ingest processor uses to keep or delete an upload's bytes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { JobError } from "../../src/jobs/job-error.ts";
import type { JobFinishedState, JobProcessor } from "../../src/jobs/job-worker.ts";
import { finished, openQueue, type QueueFactory } from "./job-queue-conformance.ts";
import { waitFor } from "./wait-for.ts";

/** The states each job's listeners heard, in order, by job id. */
class HeardStates {
  readonly byJob = new Map<string, JobFinishedState[]>();

  /** Wraps a processor so that every run registers a listener that records its state. */
  listening(processor: JobProcessor): JobProcessor {
    return async (job) => {
      job.onFinished((state) => {
        this.byJob.set(job.id, [...(this.byJob.get(job.id) ?? []), state]);
      });
      return processor(job);
    };
  }

  heard(id: string, count: number): Promise<JobFinishedState[]> {
    return waitFor(`${count} finished states of job ${id}`, () => {
      const states = this.byJob.get(id) ?? [];
      return states.length >= count ? states : undefined;
    });
  }
}

export function describeJobFinishedConformance(name: string, factory: QueueFactory): void {
  describe(`JobQueue onFinished conformance: ${name}`, () => {
    test("listeners hear completed, retrying then failed, and failed at once for a non-retryable code", async (t) => {
      const { queue, workers } = await openQueue(factory, t, { attempts: 2, backoffMs: 20 });
      const states = new HeardStates();
      workers.push(
        queue.startWorker({
          concurrency: 2,
          processors: {
            fine: states.listening(async () => "done"),
            broken: states.listening(async () => {
              throw new Error("transient");
            }),
            refused: states.listening(async () => {
              throw new JobError({ code: "SOURCE_REFUSED", message: "The source is not allowed." });
            }),
          },
        }),
      );
      const fine = await queue.enqueue({ type: "fine", payload: null });
      const broken = await queue.enqueue({ type: "broken", payload: null });
      const refused = await queue.enqueue({ type: "refused", payload: null });
      assert.deepEqual(await states.heard(fine.id, 1), ["completed"]);
      assert.deepEqual(await states.heard(broken.id, 2), ["retrying", "failed"]);
      assert.deepEqual(await states.heard(refused.id, 1), ["failed"]);
      assert.equal((await finished(queue, broken.id)).status, "failed");
    });

    test("listeners of a job cancelled while it runs hear cancelled", async (t) => {
      const { queue, workers } = await openQueue(factory, t);
      const states = new HeardStates();
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: {
            long: states.listening(async (job) => {
              for (let step = 1; step <= 100; step += 1) {
                await job.reportProgress(step);
                await sleep(50);
              }
              return "should not finish";
            }),
          },
        }),
      );
      const job = await queue.enqueue({ type: "long", payload: null });
      await waitFor("the job to make progress", async () => ((await queue.get(job.id))?.progress ?? 0) >= 2);
      assert.equal((await queue.cancel(job.id))?.status, "running");
      assert.deepEqual(await states.heard(job.id, 1), ["cancelled"]);
      assert.equal((await finished(queue, job.id)).status, "cancelled");
    });

    test("listeners of a job given back at shutdown hear returned; the next worker's run hears completed", async (t) => {
      // One attempt: a job given back must not look like its last attempt ending.
      const { queue, workers } = await openQueue(factory, t, { attempts: 1 });
      const states = new HeardStates();
      const worker = queue.startWorker({
        concurrency: 1,
        processors: {
          stuck: states.listening(async (job) => {
            await new Promise((resolve) => job.signal.addEventListener("abort", resolve));
            await job.reportProgress(50);
            return "should not be recorded";
          }),
        },
      });
      const job = await queue.enqueue({ type: "stuck", payload: null });
      await waitFor("the job to run", async () => (await queue.get(job.id))?.status === "running");
      await worker.stop({ timeoutMs: 100 });
      assert.deepEqual(await states.heard(job.id, 1), ["returned"]);
      assert.equal((await queue.get(job.id))?.status, "queued");
      workers.push(
        queue.startWorker({
          concurrency: 1,
          processors: { stuck: states.listening(async () => "done by the second worker") },
        }),
      );
      assert.deepEqual(await states.heard(job.id, 2), ["returned", "completed"]);
      assert.equal((await finished(queue, job.id)).status, "completed");
    });
  });
}
