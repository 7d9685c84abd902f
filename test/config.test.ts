import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.ts";

test("defaults match the documented ones", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.logLevel, "info");
  assert.equal(config.llmModel, "echo");
  assert.equal(config.bodyLimitBytes, 1_048_576);
  assert.equal(config.shutdownTimeoutMs, 20_000);
  assert.ok(config.keepAliveTimeoutMs > 60_000, "keep-alive outlives a load balancer's 60 s idle timeout");
  assert.equal(config.knowledgeMaxBytes, 1024 * 1_048_576);
  assert.equal(config.searchTimeoutMs, 3000);
  assert.ok(Object.isFrozen(config));
});

test("a bad value is a ConfigError that names the variable", () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ RUN_WORKER: "maybe" }, "RUN_WORKER"],
    [{ OPENAI_BASE_URL: "not a url" }, "OPENAI_BASE_URL"],
    [{ BODY_LIMIT_BYTES: "-1" }, "BODY_LIMIT_BYTES"],
    [{ KNOWLEDGE_MAX_BYTES: "0" }, "KNOWLEDGE_MAX_BYTES"],
    [{ KNOWLEDGE_MAX_BYTES: "lots" }, "KNOWLEDGE_MAX_BYTES"],
    [{ SEARCH_TIMEOUT_MS: "0" }, "SEARCH_TIMEOUT_MS"],
    [{ SEARCH_TIMEOUT_MS: "1h" }, "SEARCH_TIMEOUT_MS"],
  ];
  for (const [environment, variable] of cases) {
    assert.throws(
      () => loadConfig(environment),
      (error: unknown) =>
        error instanceof ConfigError && error.variable === variable && error.message.includes(variable),
      variable,
    );
  }
});

test("the server refuses to start on bad config with one line naming the variable", () => {
  const result = spawnSync(process.execPath, ["src/server.ts"], {
    env: { PATH: process.env.PATH, PORT: "not-a-port" },
    encoding: "utf8",
    timeout: 15_000,
  });
  assert.equal(result.status, 1);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /PORT/);
});

test("an unknown provider in LLM_MODEL stops start-up with one line naming LLM_MODEL", () => {
  const result = spawnSync(process.execPath, ["src/server.ts"], {
    env: {
      PATH: process.env.PATH,
      PORT: "0",
      LLM_MODEL: "bogus:model",
      DATA_DIR: "/tmp/llm-api-config-test",
    },
    encoding: "utf8",
    timeout: 15_000,
  });
  assert.equal(result.status, 1);
  const lines = result.stderr
    .trim()
    .split("\n")
    .filter((line) => !line.includes("ExperimentalWarning") && !line.includes("--trace-warnings"));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /LLM_MODEL/);
});
