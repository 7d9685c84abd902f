import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import pino from "pino";
import type { LlmCallEnd } from "../src/llm/llm-call-observer.ts";
import { createServices, createWorkerServices } from "../src/services.ts";
import { llmCall } from "./support/llm-calls.ts";
import { sampleValue } from "./support/prometheus-text.ts";
import { testConfig } from "./support/test-config.ts";

const logger = pino({ level: "silent" });

/** A DATA_DIR below a regular file, which can never be created (a read-only volume, a typo). */
function unwritableDataDir(): string {
  const blocker = path.join(mkdtempSync(path.join(tmpdir(), "llm-api-services-")), "not-a-folder");
  writeFileSync(blocker, "");
  return path.join(blocker, "data");
}

test("close() closes the queue and store it opened, once, and leaves those passed in open", async () => {
  const lender = await createServices(testConfig(), logger);
  const borrower = await createServices(testConfig(), logger, {
    jobQueue: lender.jobQueue,
    knowledgeStore: lender.knowledgeStore,
  });
  assert.equal(borrower.jobQueue, lender.jobQueue);

  await Promise.all([borrower.close(), borrower.close()]);
  await lender.jobQueue.ping();
  await lender.knowledgeStore.ping();

  await lender.close();
  await assert.rejects(lender.jobQueue.ping(), "the queue it opened is closed");
  await assert.rejects(lender.knowledgeStore.ping(), "the store it opened is closed");
});

test("a queue and store that cannot be opened leave the services up, and /ready's checks name both", async () => {
  const services = await createServices(testConfig({ DATA_DIR: unwritableDataDir() }), logger);
  assert.deepEqual(await services.lifecycle.failingChecks(), ["job_queue", "knowledge_store"]);
  await assert.rejects(services.jobQueue.enqueue({ type: "ingest", payload: {} }), { code: "NOT_READY" });
  await services.close();
});

test("the worker's services do not start degraded: a worker without its queue has nothing to do", () => {
  assert.throws(() => createWorkerServices(testConfig({ DATA_DIR: unwritableDataDir() }), logger));
});

test("the queue depth gauge reads the services' own queue unless a source is given", async (t) => {
  const services = await createServices(testConfig(), logger);
  t.after(() => services.close());
  await services.jobQueue.enqueue({ type: "ingest", payload: {} });
  const text = await services.observability.metrics.exposition();
  assert.equal(sampleValue(text, "llm_api_job_queue_depth", { state: "queued" }), 1);

  const given = await createServices(testConfig(), logger, { jobQueueDepth: async () => ({ queued: 7 }) });
  t.after(() => given.close());
  const givenText = await given.observability.metrics.exposition();
  assert.equal(sampleValue(givenText, "llm_api_job_queue_depth", { state: "queued" }), 7);
});

test("a given model-call observer is told about every call, beside the services' own", async (t) => {
  const ended: LlmCallEnd[] = [];
  const services = await createServices(
    testConfig({ LLM_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk-test-services" }),
    logger,
    {
      llmCallObserver: {
        start: () => ({
          chunk() {},
          retry() {},
          end: (result) => ended.push(result),
          upstreamHeaders: () => ({}),
        }),
      },
    },
  );
  t.after(() => services.close());
  services.llmCallObserver.start(llmCall()).end({ outcome: "success", output: "hi" });
  assert.deepEqual(ended, [{ outcome: "success", output: "hi" }]);
  const text = await services.observability.metrics.exposition();
  assert.equal(sampleValue(text, "gen_ai_client_operation_duration_seconds_count"), 1);
});
