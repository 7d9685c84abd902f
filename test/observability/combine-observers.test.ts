import assert from "node:assert/strict";
import { test } from "node:test";
import type { LlmCallObserver } from "../../src/llm/llm-call-observer.ts";
import { combineObservers } from "../../src/observability/combine-observers.ts";
import { llmCall } from "../support/llm-calls.ts";

test("combineObservers forwards every call to each observer and merges upstream headers", () => {
  const seen: string[] = [];
  const recording = (name: string, headers: Record<string, string>): LlmCallObserver => ({
    start: () => ({
      chunk: () => seen.push(`${name}:chunk`),
      retry: (reason) => seen.push(`${name}:retry:${reason}`),
      end: (result) => seen.push(`${name}:end:${result.outcome}`),
      upstreamHeaders: () => headers,
    }),
  });
  const combined = combineObservers([
    recording("a", { traceparent: "00-a" }),
    recording("b", { "x-b": "1" }),
  ]);
  const call = combined.start(llmCall());
  call.chunk();
  call.retry("timeout");
  call.end({ outcome: "success", output: "" });
  assert.deepEqual(call.upstreamHeaders(), { traceparent: "00-a", "x-b": "1" });
  assert.deepEqual(seen, [
    "a:chunk",
    "b:chunk",
    "a:retry:timeout",
    "b:retry:timeout",
    "a:end:success",
    "b:end:success",
  ]);
});

test("a throwing observer is reported and skipped; the others still see the call", () => {
  const failures: unknown[] = [];
  let ended = false;
  const broken: LlmCallObserver = {
    start: () => ({
      chunk: () => {
        throw new Error("chunk failed");
      },
      retry: () => {},
      end: () => {
        throw new Error("end failed");
      },
      upstreamHeaders: () => ({}),
    }),
  };
  const throwsOnStart: LlmCallObserver = {
    start: () => {
      throw new Error("start failed");
    },
  };
  const healthy: LlmCallObserver = {
    start: () => ({
      chunk() {},
      retry() {},
      end: () => {
        ended = true;
      },
      upstreamHeaders: () => ({}),
    }),
  };
  const combined = combineObservers([broken, throwsOnStart, healthy], (error) => failures.push(error));
  const call = combined.start(llmCall());
  call.chunk();
  call.end({ outcome: "success", output: "" });
  assert.equal(ended, true);
  assert.deepEqual(
    failures.map((error) => (error as Error).message),
    ["start failed", "chunk failed", "end failed"],
  );
});
