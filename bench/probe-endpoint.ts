import type { TargetProcess } from "./target-process.ts";

export type ProbeResult = { ok: true; body: string } | { ok: false; reason: string };

/**
 * One request before a scenario measures a target: a missing endpoint (the service's routes land
 * on another branch) becomes "skipped: endpoint missing" instead of a table of 404s per second.
 */
export async function probeEndpoint(
  target: TargetProcess,
  path: string,
  body: string,
  expect: "json" | "sse",
): Promise<ProbeResult> {
  try {
    const response = await fetch(`${target.origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...target.headers },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    // An OpenAI-style "model not found" is a 404 too, but from a route that exists.
    if (response.status === 404 && !/model/i.test(text)) {
      return { ok: false, reason: `skipped: endpoint missing (404 on POST ${path})` };
    }
    if (!response.ok) {
      return { ok: false, reason: `failed: POST ${path} answered ${response.status}: ${text.slice(0, 200)}` };
    }
    const contentType = response.headers.get("content-type") ?? "";
    if (expect === "sse" && !(contentType.includes("text/event-stream") && text.includes("[DONE]"))) {
      return {
        ok: false,
        reason: `failed: POST ${path} did not stream SSE ending in [DONE] (${contentType})`,
      };
    }
    if (expect === "json" && !contentType.includes("application/json")) {
      return { ok: false, reason: `failed: POST ${path} answered ${contentType}, not JSON` };
    }
    return { ok: true, body: text };
  } catch (error) {
    return { ok: false, reason: `failed: POST ${path}: ${(error as Error).message}` };
  }
}

/**
 * The model id a client of the service would send: the first one its `GET /v1/models` lists,
 * as an OpenAI SDK user would pick it. Undefined while that endpoint does not exist.
 */
export async function discoverModel(target: TargetProcess): Promise<string | undefined> {
  try {
    const response = await fetch(`${target.origin}/v1/models`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return undefined;
    const list = (await response.json()) as { data?: { id?: unknown }[] };
    const id = list.data?.[0]?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
