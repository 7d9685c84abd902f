import { startJobWorker } from "../../src/jobs/start-job-worker.ts";
import type { buildTestApp } from "./build-test-app.ts";

type App = Awaited<ReturnType<typeof buildTestApp>>["app"];

/**
 * A job worker in this process over the app's own queue and knowledge store, as the worker
 * process would run. When the test ends the worker stops first and the app closes after it: hooks
 * run in the order they were added, and a worker must not outlive the queue it reads.
 */
export function startAppWorker(t: { after: (fn: () => unknown) => void }, app: App) {
  const worker = startJobWorker({
    config: app.config,
    jobQueue: app.jobQueue,
    knowledgeStore: app.knowledgeStore,
    logger: app.log as never,
  });
  t.after(async () => {
    await worker.stop({ timeoutMs: 0 });
    await app.close();
  });
  return worker;
}
