// Every hostile source is refused before anything is touched: a canary HTTP server on loopback
// counts connections (it must see none) and a canary FIFO outside INGEST_ROOT holds bytes that
// any read would consume (they must still be there at the end).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { SourceError } from "../../src/knowledge/source-error.ts";
import { fetchUrlSource } from "../../src/knowledge/sources/fetch-url-source.ts";
import { readFileSource } from "../../src/knowledge/sources/read-file-source.ts";

const CANARY_BYTES = "CANARY";
let canaryConnections = 0;
let canary: http.Server;
let canaryPort = 0;
/** A public-looking server stand-in on 127.0.0.2 that tests alone may reach; it redirects to the canary. */
let redirector: http.Server;
let redirectorPort = 0;

let folder: string;
let ingestRoot: string;
let canaryFifo: string;
let canaryFd: number;

before(async () => {
  canary = http.createServer((_request, response) => response.end("canary secret"));
  canary.on("connection", () => {
    canaryConnections += 1;
  });
  await new Promise<void>((resolve) => canary.listen(0, "127.0.0.1", resolve));
  canaryPort = (canary.address() as AddressInfo).port;

  redirector = http.createServer((request, response) => {
    const target = new URL(request.url ?? "/", "http://x").searchParams.get("to") ?? "/";
    response.writeHead(302, { location: target }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.2", resolve));
  redirectorPort = (redirector.address() as AddressInfo).port;

  folder = mkdtempSync(path.join(tmpdir(), "hostile-"));
  ingestRoot = path.join(folder, "root");
  mkdirSync(ingestRoot);
  writeFileSync(path.join(ingestRoot, "allowed.txt"), "inside the root");
  canaryFifo = path.join(folder, "canary.fifo");
  execFileSync("mkfifo", [canaryFifo]);
  // O_RDWR keeps the FIFO open without a separate reader; the bytes wait in the pipe until read.
  canaryFd = openSync(canaryFifo, constants.O_RDWR | constants.O_NONBLOCK);
  writeSync(canaryFd, CANARY_BYTES);
  symlinkSync(canaryFifo, path.join(ingestRoot, "link-to-canary"));
  symlinkSync(folder, path.join(ingestRoot, "link-to-parent"));
});

after(async () => {
  await new Promise((resolve) => canary.close(resolve));
  await new Promise((resolve) => redirector.close(resolve));
  closeSync(canaryFd);
});

const onlyTheRedirector = (address: string) => address === "127.0.0.2";

/** An IPv4 address, or anything IPv6-like (two hex groups around colons). */
const ADDRESS_PATTERN = /\b\d{1,3}(?:\.\d{1,3}){3}\b|[0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f:.]*/i;

/** Refused as not public, without naming an address: a named one would be an internal-DNS oracle. */
function refusedAsNotPublic(error: unknown): boolean {
  return (
    error instanceof SourceError &&
    error.code === "SOURCE_REFUSED" &&
    !error.retryable &&
    /not a public address/.test(error.message) &&
    !ADDRESS_PATTERN.test(error.message)
  );
}

describe("URL sources reach only public addresses", () => {
  const hostile = () => [
    `http://127.0.0.1:${canaryPort}/`,
    `http://127.1:${canaryPort}/`,
    `http://0x7f.1:${canaryPort}/`,
    `http://2130706433:${canaryPort}/`,
    `http://017700000001:${canaryPort}/`,
    `http://[::ffff:127.0.0.1]:${canaryPort}/`,
    `http://[::1]:${canaryPort}/`,
    `http://0.0.0.0:${canaryPort}/`,
    `http://localhost:${canaryPort}/`,
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://100.64.0.1/",
    "http://192.168.1.1/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
  ];

  test("IP literals in every notation, private ranges and localhost are refused", async () => {
    for (const url of hostile()) {
      await assert.rejects(fetchUrlSource(url, { maxBytes: 1000, timeoutMs: 2000 }), refusedAsNotPublic, url);
    }
    assert.equal(canaryConnections, 0);
  });

  test("a DNS answer that points at loopback is refused (rebinding), without saying where it points", async () => {
    await assert.rejects(
      fetchUrlSource(`http://rebind.example:${canaryPort}/`, {
        maxBytes: 1000,
        timeoutMs: 2000,
        resolve: async () => [
          { address: "93.184.216.34", family: 4 },
          { address: "127.0.0.1", family: 4 },
        ],
      }),
      refusedAsNotPublic,
    );
    assert.equal(canaryConnections, 0);
  });

  test("a redirect to loopback is refused, in every notation", async () => {
    for (const target of [
      `http://127.0.0.1:${canaryPort}/`,
      `http://0x7f.1:${canaryPort}/`,
      `http://[::ffff:7f00:1]:${canaryPort}/`,
    ]) {
      const url = `http://127.0.0.2:${redirectorPort}/?to=${encodeURIComponent(target)}`;
      await assert.rejects(
        fetchUrlSource(url, { maxBytes: 1000, timeoutMs: 2000, isAllowedAddress: onlyTheRedirector }),
        refusedAsNotPublic,
      );
    }
    assert.equal(canaryConnections, 0);
  });

  test("more than three redirects are refused; other schemes are refused", async () => {
    const self = `http://127.0.0.2:${redirectorPort}/`;
    let url = `${self}?to=${encodeURIComponent(`${self}final`)}`;
    for (let hop = 0; hop < 3; hop += 1) url = `${self}?to=${encodeURIComponent(url)}`;
    await assert.rejects(
      fetchUrlSource(url, { maxBytes: 1000, timeoutMs: 2000, isAllowedAddress: onlyTheRedirector }),
      /redirected more than 3 times/,
    );
    await assert.rejects(
      fetchUrlSource("file:///etc/passwd", { maxBytes: 1000, timeoutMs: 2000 }),
      /Only http/,
    );
    await assert.rejects(
      fetchUrlSource(`http://127.0.0.2:${redirectorPort}/?to=${encodeURIComponent("file:///etc/passwd")}`, {
        maxBytes: 1000,
        timeoutMs: 2000,
        isAllowedAddress: onlyTheRedirector,
      }),
      /Only http/,
    );
    assert.equal(canaryConnections, 0);
  });

  test("the canary does notice a connection (so its zero above means something)", async () => {
    const before = canaryConnections;
    const fetched = await fetchUrlSource(`http://127.0.0.1:${canaryPort}/page.txt`, {
      maxBytes: 1000,
      timeoutMs: 2000,
      isAllowedAddress: () => true,
    });
    assert.equal(fetched.body.toString(), "canary secret");
    assert.equal(canaryConnections, before + 1);
    canaryConnections = before;
  });
});

describe("file sources never leave INGEST_ROOT", () => {
  test("absolute paths, '..', encoded traversal, NUL bytes and symlinks out are refused; the canary is never read", async () => {
    const hostile = [
      canaryFifo,
      "/etc/passwd",
      "../canary.fifo",
      "sub/../../canary.fifo",
      "%2e%2e/canary.fifo",
      "..%2fcanary.fifo",
      "%2E%2E%2Fcanary.fifo",
      "allowed.txt\0../canary.fifo",
      "..\\canary.fifo",
      "link-to-canary",
      "link-to-parent/canary.fifo",
    ];
    for (const source of hostile) {
      await assert.rejects(
        readFileSource(source, { ingestRoot, maxBytes: 1000 }),
        (error: unknown) =>
          error instanceof SourceError &&
          error.code === "SOURCE_REFUSED" &&
          !error.retryable &&
          /refused/.test(error.message),
        JSON.stringify(source),
      );
    }
    const inside = await readFileSource("allowed.txt", { ingestRoot, maxBytes: 1000 });
    assert.equal(inside.body.toString(), "inside the root");

    const buffer = Buffer.alloc(16);
    const read = readSync(canaryFd, buffer, 0, 16, null);
    assert.equal(buffer.subarray(0, read).toString(), CANARY_BYTES, "nobody read the canary");
  });

  test("a file larger than INGEST_MAX_BYTES is refused", async () => {
    writeFileSync(path.join(ingestRoot, "big.txt"), "x".repeat(2000));
    await assert.rejects(
      readFileSource("big.txt", { ingestRoot, maxBytes: 1000 }),
      /more than the 1000 allowed/,
    );
  });
});
