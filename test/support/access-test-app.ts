import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AccessStore } from "../../src/access/access-store.ts";
import type { ModelPrice } from "../../src/access/model-prices.ts";
import { SqliteAccessStore } from "../../src/access/sqlite-access-store.ts";
import { SqliteJobQueue } from "../../src/jobs/sqlite-job-queue.ts";
import { buildTestApp } from "./build-test-app.ts";
import { type FakeLlmUpstream, startFakeLlmUpstream } from "./fake-llm-upstream.ts";

export const ADMIN_KEY = "admin-canary-key-0123456789";

export type AccessTestAppOptions = {
  environment?: Record<string, string>;
  /** Shared by several instances, as one database is by replicas; a private SQLite store otherwise. */
  accessStore?: AccessStore;
  /** Shared by instances on one Redis; a fresh one otherwise. */
  redisPrefix?: string;
  upstream?: FakeLlmUpstream;
  modelPrices?: Readonly<Record<string, ModelPrice>>;
  /** Keeps jobs in SQLite even with REDIS_URL set, for tests that take Redis away from the limits only. */
  sqliteJobs?: boolean;
};

/** A private SQLite key store in a temp folder, for instances that share it. */
export function privateAccessStore(): SqliteAccessStore {
  return new SqliteAccessStore(path.join(mkdtempSync(path.join(tmpdir(), "access-store-")), "access.sqlite"));
}

/**
 * The real app on a real port with ADMIN_API_KEY set and its `openai` provider pointed at a fake
 * upstream (the default model `openai:fake-model`), plus helpers to make keys and call it.
 */
export async function startAccessTestApp(
  t: { after: (fn: () => unknown) => void },
  options: AccessTestAppOptions = {},
) {
  const ownsUpstream = options.upstream === undefined;
  const upstream = options.upstream ?? (await startFakeLlmUpstream());
  const built = await buildTestApp({
    environment: {
      ADMIN_API_KEY: ADMIN_KEY,
      LLM_MODEL: "openai:fake-model",
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_API_KEY: "sk-test-openai",
      ECHO_DELAY_MS: "0",
      LLM_MAX_RETRIES: "0",
      ...options.environment,
    },
    accessStore: options.accessStore,
    redisPrefix: options.redisPrefix ?? `llm-api-test-${randomUUID()}`,
    modelPrices: options.modelPrices,
    jobQueue: options.sqliteJobs
      ? new SqliteJobQueue({
          file: path.join(mkdtempSync(path.join(tmpdir(), "access-jobs-")), "jobs.sqlite"),
          attempts: 1,
          retentionMs: 60_000,
          leaseMs: 30_000,
          backoffMs: 0,
        })
      : undefined,
  });
  const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
  t.after(async () => {
    if (ownsUpstream) await upstream.close();
    await built.app.close();
  });
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const createKey = async (body: Record<string, unknown>): Promise<{ id: string; key: string }> => {
    const response = await fetch(`${address}/admin/keys`, {
      method: "POST",
      headers: { ...bearer(ADMIN_KEY), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status !== 201)
      throw new Error(`creating a key: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string; key: string };
  };
  const post = (urlPath: string, key: string | undefined, body: unknown, init: RequestInit = {}) =>
    fetch(`${address}${urlPath}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key === undefined ? {} : bearer(key)) },
      body: JSON.stringify(body),
      ...init,
    });
  const usage = async (query: string) => {
    const response = await fetch(`${address}/admin/usage?${query}`, { headers: bearer(ADMIN_KEY) });
    if (response.status !== 200) throw new Error(`usage: ${response.status} ${await response.text()}`);
    return (await response.json()) as { data: Record<string, number | string | null>[] };
  };
  return { ...built, upstream, address, createKey, post, usage, bearer };
}
