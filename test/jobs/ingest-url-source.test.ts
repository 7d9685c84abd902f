import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import {
  createIngestDocumentProcessor,
  type IngestResult,
} from "../../src/jobs/processors/ingest-document.ts";
import { SqliteKnowledgeStore } from "../../src/knowledge/stores/sqlite-knowledge-store.ts";

test("a URL source ingests over HTTP, following a redirect (server on 127.0.0.2, allowed for this test only)", async (t) => {
  const server = http.createServer((request, response) => {
    if (request.url === "/old") return response.writeHead(301, { location: "/article" }).end();
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(
      "<html><body><h1>Herons</h1><p>Herons wade in shallow water.</p><script>x()</script></body></html>",
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.2", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  const store = new SqliteKnowledgeStore({
    file: path.join(mkdtempSync(path.join(tmpdir(), "url-")), "k.sqlite"),
  });
  t.after(() => store.close());

  const processor = createIngestDocumentProcessor({
    store,
    ingestRoot: tmpdir(),
    maxBytes: 100_000,
    fetchTimeoutMs: 5000,
    chunkSize: 500,
    chunkOverlap: 50,
    maxPages: 100,
    maxUnpackedBytes: 10_000_000,
    extractTimeoutMs: 30_000,
    fetch: { isAllowedAddress: (address) => address === "127.0.0.2" },
  });
  const progress: number[] = [];
  const source = `http://127.0.0.2:${port}/old`;
  const result = (await processor({
    id: "job-1",
    type: "ingest-document",
    payload: { source },
    source,
    attempt: 1,
    signal: new AbortController().signal,
    reportProgress: async (percent) => {
      progress.push(percent);
    },
    onFinished: () => {},
  })) as IngestResult;
  assert.equal(result.source, source);
  assert.equal(result.content_type, "text/html");
  assert.equal(result.chunks, 1);
  assert.equal(result.document_id, "doc_job-1");
  const hits = await store.search("herons water");
  assert.match(hits[0].text, /Herons wade in shallow water\./);
  assert.doesNotMatch(hits[0].text, /x\(\)/);
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
  );
});
