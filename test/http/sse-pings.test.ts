import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResponseStream } from "../../src/http/response-stream.ts";
import { createSseWriter } from "../../src/http/sse-writer.ts";
import { waitFor } from "../support/wait-for.ts";

/** A response stream that records writes and whose "socket full" state the test sets. */
function recordingStream() {
  const writes: string[] = [];
  let full = false;
  const stream: ResponseStream = {
    write(chunk) {
      writes.push(chunk);
      return undefined;
    },
    end() {},
    stalled: false,
    closed: false,
    get full() {
      return full;
    },
  };
  return { stream, writes, setFull: (value: boolean) => (full = value) };
}

test("an idle SSE stream is pinged, but not while the client has not taken what it was sent", async () => {
  const { stream, writes, setFull } = recordingStream();
  const writer = createSseWriter(stream, { pingMs: 20 });
  try {
    await waitFor("a ping", () => writes.includes(": ping\n\n") || undefined, {
      timeoutMs: 2000,
      intervalMs: 5,
    });
    setFull(true);
    const before = writes.length;
    // Several ping intervals with the socket full: nothing more piles up.
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(writes.length, before, "no ping was written into a full socket");
    setFull(false);
    await waitFor("pings again once the client reads", () => writes.length > before || undefined, {
      timeoutMs: 2000,
      intervalMs: 5,
    });
  } finally {
    writer.end();
  }
});
