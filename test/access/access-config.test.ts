import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig, secretValues } from "../../src/config.ts";

test("the access settings are read and validated, each bad value naming its variable", () => {
  const config = loadConfig({
    ADMIN_API_KEY: "admin-key-0123456789",
    RATE_LIMIT_RPM: "30",
    MODEL_PRICES: '{"echo": {"input_per_mtok": 1, "output_per_mtok": 2.5}}',
    CORS_ORIGINS: "https://a.example, https://b.example",
    MAX_EVENT_LOOP_UTILIZATION: "0.9",
  });
  assert.equal(config.rateLimitRpm, 30);
  assert.equal(config.rateLimitTpm, undefined);
  assert.deepEqual(config.modelPrices, { echo: { input_per_mtok: 1, output_per_mtok: 2.5 } });
  assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(config.maxEventLoopUtilization, 0.9);
  assert.ok(secretValues(config).includes("admin-key-0123456789"), "the admin key is scrubbed from logs");

  const refused: [Record<string, string>, RegExp][] = [
    [{ ADMIN_API_KEY: "short" }, /Invalid configuration: ADMIN_API_KEY must be at least 16 characters$/],
    [{ RATE_LIMIT_RPM: "0" }, /RATE_LIMIT_RPM must be at least 1/],
    [{ RATE_LIMIT_TPM: "lots" }, /RATE_LIMIT_TPM must be an integer/],
    [{ MODEL_PRICES: "{" }, /MODEL_PRICES must be JSON/],
    [{ MODEL_PRICES: "[]" }, /MODEL_PRICES must be a JSON object/],
    [{ MODEL_PRICES: '{"echo": {"input_per_mtok": -1, "output_per_mtok": 1}}' }, /echo\.input_per_mtok/],
    [{ MODEL_PRICES: '{"echo": {"input_per_mtok": 1}}' }, /echo\.output_per_mtok/],
    [
      { MODEL_PRICES: '{"echo": {"input_per_mtok": 1, "output_per_mtok": 1, "per_call": 2}}' },
      /unknown fields: per_call/,
    ],
    [{ MAX_EVENT_LOOP_UTILIZATION: "2" }, /MAX_EVENT_LOOP_UTILIZATION must be a number from 0 to 1/],
    [{ USAGE_BUFFER_ROWS: "0" }, /USAGE_BUFFER_ROWS/],
  ];
  for (const [environment, message] of refused) assert.throws(() => loadConfig(environment), message);
  // The key is never shown in its own error.
  assert.throws(
    () => loadConfig({ ADMIN_API_KEY: "tiny-secret" }),
    (error: Error) => !error.message.includes("tiny-secret"),
  );
});
