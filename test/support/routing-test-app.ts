import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildTestApp } from "./build-test-app.ts";
import { sampleValue } from "./prometheus-text.ts";

/**
 * The real app listening on a real port with `MODELS_FILE` set to `modelsFile` (YAML), written to
 * a temp folder so the test can rewrite it. The deployments point at real local upstreams.
 */
export async function startRoutingTestApp(
  t: { after: (fn: () => unknown) => void },
  modelsFile: string,
  environment: Record<string, string> = {},
) {
  const folder = mkdtempSync(path.join(tmpdir(), "llm-api-routing-"));
  const file = path.join(folder, environment.MODELS_FILE_NAME ?? "models.yaml");
  writeFileSync(file, modelsFile);
  const built = await buildTestApp({
    environment: { MODELS_FILE: file, ECHO_DELAY_MS: "0", ...environment },
  });
  const address = await built.app.listen({ port: 0, host: "127.0.0.1" });
  t.after(() => built.app.close());
  const headers = { "content-type": "application/json" };
  /** `POST /v1/chat/completions` (non-stream unless the body says). */
  const complete = (body: Record<string, unknown> = {}) =>
    fetch(`${address}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], ...body }),
    });
  const post = (route: string, body: unknown) =>
    fetch(`${address}${route}`, { method: "POST", headers, body: JSON.stringify(body) });
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    sampleValue(await (await fetch(`${address}/metrics`)).text(), name, labels);
  return {
    ...built,
    address,
    file,
    complete,
    post,
    metric,
    rewrite: (text: string) => writeFileSync(file, text),
  };
}

/** Runs `total` calls of `task`, `concurrency` at a time; resolves with each one's result in order. */
export async function runConcurrently<T>(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next;
      next += 1;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}
