import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { findCatalogModel } from "../../src/catalog/catalog.ts";
import { ConfigError, loadConfig, secretValues } from "../../src/config.ts";

const folder = mkdtempSync(path.join(tmpdir(), "llm-api-models-file-"));
let written = 0;
function modelsFile(text: string, extension = "yaml"): string {
  written += 1;
  const file = path.join(folder, `models-${written}.${extension}`);
  writeFileSync(file, text);
  return file;
}

const ENVIRONMENT = {
  VLLM_KEY: "vllm-secret-key",
  OPENAI_API_KEY: "sk-openai-secret",
  ANTHROPIC_API_KEY: "sk-ant",
};

export const GOOD_FILE = `
default: chat
router:
  strategy: weighted
  cooldown: { initial_ms: 1000, max_ms: 60000 }
models:
  - name: chat
    aliases: [gpt-4o-mini]
    deployments:
      - id: vllm-a
        provider: openai
        model: Qwen/Qwen2.5-7B-Instruct
        base_url: http://gpu-a:8000/v1
        api_key: \${VLLM_KEY}
        weight: 3
        max_concurrency: 64
        rpm: 1200
        timeout_ms: 60000
      - id: openai
        provider: openai
        model: gpt-4o-mini
        api_key: \${OPENAI_API_KEY}
        weight: 1
    fallbacks: [claude]
    price: { input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075 }
  - name: claude
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5, api_key: "\${ANTHROPIC_API_KEY}" }
  - name: embed
    embeddings: true
    deployments:
      - { provider: echo }
`;

/** `${NAME}` as the file writes it. */
function reference(name: string): string {
  return `$\{${name}}`;
}

function load(text: string, extension?: string) {
  return loadConfig({ ...ENVIRONMENT, MODELS_FILE: modelsFile(text, extension) });
}

test("the models file: names, aliases, deployments with their caps, fallbacks, price and embeddings", () => {
  const config = load(GOOD_FILE);
  const catalog = config.catalog;
  assert.ok(catalog !== undefined);
  assert.equal(catalog.defaultModel, "chat");
  assert.deepEqual(catalog.router, { strategy: "weighted", cooldown: { initialMs: 1000, maxMs: 60_000 } });
  const chat = findCatalogModel(catalog, "gpt-4o-mini");
  assert.equal(chat?.name, "chat");
  assert.deepEqual(chat?.deployments[0], {
    id: "vllm-a",
    provider: "openai",
    model: "Qwen/Qwen2.5-7B-Instruct",
    baseUrl: "http://gpu-a:8000/v1",
    apiKey: "vllm-secret-key",
    weight: 3,
    maxConcurrency: 64,
    rpm: 1200,
    timeoutMs: 60_000,
  });
  assert.equal(chat?.deployments[1].baseUrl, undefined, "the provider's own API");
  assert.deepEqual(chat?.fallbacks, ["claude"]);
  assert.deepEqual(chat?.price, { inputPerMtok: 0.15, outputPerMtok: 0.6, cachedInputPerMtok: 0.075 });
  assert.equal(chat?.embeddings, false);
  const claude = findCatalogModel(catalog, "claude");
  assert.equal(claude?.deployments[0].id, "0", "the index when the file gives no id");
  assert.equal(findCatalogModel(catalog, "embed")?.embeddings, true);
  assert.equal(findCatalogModel(catalog, "embed")?.deployments[0].model, "echo");
  // The deployments' keys are scrubbed from logs like every other configured secret.
  assert.ok(secretValues(config).includes("vllm-secret-key"));
  assert.ok(secretValues(config).includes("sk-openai-secret"));
});

test("JSON is read too, and without MODELS_FILE there is no file catalog", () => {
  const config = load(
    JSON.stringify({ models: [{ name: "only", deployments: [{ provider: "echo", id: "e" }] }] }),
    "json",
  );
  assert.equal(config.catalog?.defaultModel, "only");
  assert.equal(loadConfig({}).catalog, undefined);
});

/** Each bad file: the one line it stops start-up with, naming the file, the field and the problem. */
const BAD_FILES: Array<{ what: string; text: string; line: RegExp; extension?: string }> = [
  {
    what: "bad YAML",
    text: "models:\n  - name: a\n   deployments: x\n",
    line: /is not valid YAML: .* at line 3, column \d+$/,
  },
  { what: "bad JSON", text: "{ models: [", line: /is not valid JSON: /, extension: "json" },
  {
    what: "unknown provider",
    text: GOOD_FILE.replace("provider: openai", "provider: azure"),
    line: /: models\[0\]\.deployments\[0\]\.provider: must be one of openai, anthropic, ollama, echo, got "azure"$/,
  },
  {
    what: "duplicate name",
    text: GOOD_FILE.replace("name: claude", "name: chat"),
    line: /: models\[1\]\.name: "chat" is already the name or an alias of models\[0\]$/,
  },
  {
    what: "a name that is another's alias",
    text: GOOD_FILE.replace("name: claude", "name: gpt-4o-mini"),
    line: /: models\[1\]\.name: "gpt-4o-mini" is already the name or an alias of models\[0\]$/,
  },
  {
    what: "duplicate deployment id",
    text: GOOD_FILE.replace("id: openai", "id: vllm-a"),
    line: /: models\[0\]\.deployments\[1\]\.id: "vllm-a" is already the id of deployments\[0\]$/,
  },
  {
    what: "unset variable",
    text: GOOD_FILE.replace(reference("OPENAI_API_KEY"), reference("NOT_SET_ANYWHERE")),
    line: /: models\[0\]\.deployments\[1\]\.api_key: the environment variable NOT_SET_ANYWHERE is not set$/,
  },
  {
    what: "a reference that is not the plain form",
    text: GOOD_FILE.replace(reference("OPENAI_API_KEY"), reference("OPENAI_API_KEY:-x")),
    line: /: models\[0\]\.deployments\[1\]\.api_key: "\$\{OPENAI_API_KEY:-x\}" is not a variable reference; only \$\{NAME\} is expanded$/,
  },
  {
    what: "fallback to an unknown model",
    text: GOOD_FILE.replace("fallbacks: [claude]", "fallbacks: [nobody]"),
    line: /: models\[0\]\.fallbacks\[0\]: "nobody" is not a model of this file$/,
  },
  {
    what: "fallback loop",
    text: GOOD_FILE.replace(
      "      - { provider: anthropic",
      "    fallbacks: [gpt-4o-mini]\n    deployments:\n      - { provider: anthropic",
    ).replace("  - name: claude\n    deployments:\n", "  - name: claude\n"),
    line: /: models\[0\]\.fallbacks: fallback loop: chat -> claude -> chat \(via models\[1\]\.fallbacks\[0\]\)$/,
  },
  {
    what: "a base URL that is not one",
    text: GOOD_FILE.replace("http://gpu-a:8000/v1", "gpu-a:8000"),
    line: /: models\[0\]\.deployments\[0\]\.base_url: must be an http or https URL, got "gpu-a:8000"$/,
  },
  {
    what: "a misspelt field",
    text: GOOD_FILE.replace("weight: 3", "wieght: 3"),
    line: /: models\[0\]\.deployments\[0\]\.wieght: unknown field; expected one of id, provider, /,
  },
  {
    what: "a weight of zero",
    text: GOOD_FILE.replace("weight: 3", "weight: 0"),
    line: /: models\[0\]\.deployments\[0\]\.weight: must be above 0, got 0$/,
  },
  {
    what: "an unknown strategy",
    text: GOOD_FILE.replace("strategy: weighted", "strategy: random"),
    line: /: router\.strategy: must be one of weighted, least-busy, got "random"$/,
  },
  {
    what: "a default that is no model",
    text: GOOD_FILE.replace("default: chat", "default: gpt-5"),
    line: /: default: "gpt-5" is not a model of this file$/,
  },
  { what: "no models", text: "models: []\n", line: /: models: must not be empty$/ },
  {
    // YAML's double quotes can write any character; a name becomes headers, labels and ledger rows.
    what: "a name holding a NUL",
    text: GOOD_FILE.replace("name: chat", 'name: "ch\\0at"'),
    line: /: models\[0\]\.name: must be printable text: no control character \(NUL, newline, tab\.\.\.\) and no unpaired surrogate$/,
  },
  {
    what: "an alias holding a tab",
    text: GOOD_FILE.replace("aliases: [gpt-4o-mini]", 'aliases: ["gpt-4o\\tmini"]'),
    line: /: models\[0\]\.aliases\[0\]: must be printable text: no control character \(NUL, newline, tab\.\.\.\) and no unpaired surrogate$/,
  },
];

for (const bad of BAD_FILES) {
  test(`a bad models file (${bad.what}) stops start-up with one line naming the file and the field`, () => {
    const file = modelsFile(bad.text, bad.extension);
    assert.throws(
      () => loadConfig({ ...ENVIRONMENT, MODELS_FILE: file }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.variable, "MODELS_FILE");
        assert.equal(error.message.split("\n").length, 1, error.message);
        assert.ok(error.message.startsWith(`Invalid configuration: MODELS_FILE ${file}: `), error.message);
        assert.match(error.message, bad.line);
        return true;
      },
    );
  });
}

test("the server process refuses a bad models file with that one line on stderr and exit 1", () => {
  const file = modelsFile(GOOD_FILE.replace("provider: openai", "provider: azure"));
  const result = spawnSync(process.execPath, ["src/server.ts"], {
    env: { PATH: process.env.PATH, PORT: "0", MODELS_FILE: file, ...ENVIRONMENT, DATA_DIR: folder },
    encoding: "utf8",
    timeout: 15_000,
  });
  assert.equal(result.status, 1);
  const lines = result.stderr
    .trim()
    .split("\n")
    .filter((line) => !line.includes("ExperimentalWarning") && !line.includes("--trace-warnings"));
  assert.deepEqual(lines, [
    `Invalid configuration: MODELS_FILE ${file}: models[0].deployments[0].provider: must be one of openai, anthropic, ollama, echo, got "azure"`,
  ]);
});

export const LITELLM_FILE = `
model_list:
  - model_name: chat
    litellm_params:
      model: hosted_vllm/Qwen/Qwen2.5-7B-Instruct
      api_base: http://gpu-a:8000/v1
      api_key: os.environ/VLLM_KEY
      rpm: 1200
      weight: 3
      tpm: 100000
    model_info: { id: vllm-a }
  - model_name: chat
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      timeout: 30
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: os.environ/ANTHROPIC_API_KEY
router_settings:
  routing_strategy: least-busy
  fallbacks: [{ chat: [claude] }]
  num_retries: 3
litellm_settings:
  drop_params: true
`;

test("a LiteLLM config.yaml: model_list entries of one model_name are its deployments, with one warning", () => {
  const catalog = load(LITELLM_FILE).catalog;
  assert.ok(catalog !== undefined);
  assert.equal(catalog.format, "litellm");
  assert.equal(catalog.router.strategy, "least-busy");
  assert.deepEqual(
    catalog.models.map((model) => [model.name, model.deployments.length, model.fallbacks]),
    [
      ["chat", 2, ["claude"]],
      ["claude", 1, []],
    ],
  );
  const [vllm, openai] = catalog.models[0].deployments;
  assert.deepEqual(
    { ...vllm },
    {
      id: "vllm-a",
      provider: "openai",
      model: "Qwen/Qwen2.5-7B-Instruct",
      baseUrl: "http://gpu-a:8000/v1",
      apiKey: "vllm-secret-key",
      weight: 3,
      maxConcurrency: undefined,
      rpm: 1200,
      timeoutMs: undefined,
    },
  );
  assert.equal(openai.id, "1");
  assert.equal(openai.timeoutMs, 30_000, "LiteLLM's timeout is in seconds");
  assert.equal(catalog.warnings.length, 1);
  assert.match(
    catalog.warnings[0],
    /are ignored: litellm_settings, model_list\[0\]\.litellm_params\.tpm, router_settings\.num_retries$/,
  );
});

test("a bad LiteLLM config.yaml names the field as LiteLLM writes it", () => {
  const cases: Array<[string, RegExp]> = [
    [
      LITELLM_FILE.replace("os.environ/OPENAI_API_KEY", "os.environ/NOT_SET_ANYWHERE"),
      /: model_list\[1\]\.litellm_params\.api_key: the environment variable NOT_SET_ANYWHERE is not set$/,
    ],
    [
      LITELLM_FILE.replace("anthropic/claude-sonnet-4-5", "bedrock/claude"),
      /: model_list\[2\]\.litellm_params\.model: unknown provider "bedrock"/,
    ],
    [
      LITELLM_FILE.replace("weight: 3", "weight: -1"),
      /: model_list\[0\]\.litellm_params\.weight: must be above 0/,
    ],
    [
      LITELLM_FILE.replace("[{ chat: [claude] }]", "[{ chat: [claude] }, { claude: [chat] }]"),
      /: router_settings\.fallbacks\[0\]\.chat: fallback loop: chat -> claude -> chat/,
    ],
    [
      LITELLM_FILE.replace("[{ chat: [claude] }]", "[{ chat: [gpt-9] }]"),
      /: router_settings\.fallbacks\[0\]\.chat\[0\]: "gpt-9" is not a model of this file$/,
    ],
  ];
  for (const [text, line] of cases) {
    assert.throws(
      () => load(text),
      (error: unknown) => error instanceof ConfigError && line.test(error.message),
      String(line),
    );
  }
});
