/** How each target of a run is started: its command, core, environment and routing headers. */
import { existsSync } from "node:fs";
import path from "node:path";
import type { UpstreamTarget } from "./bench-context.ts";
import { bareName, bareRelayName, portkeyName, serviceName, upstreamName } from "./build-row.ts";
import type { StreamShape } from "./fake-upstream.ts";
import { loadCore, serviceCore } from "./pinned-command.ts";
import { freePort, startTarget, type TargetProcess } from "./target-process.ts";

const benchDirectory = import.meta.dirname;
export const repositoryRoot = path.resolve(benchDirectory, "..");
export const serviceEntry = path.join(repositoryRoot, "src", "server.ts");
const portkeyEntry = path.join(
  benchDirectory,
  "peers",
  "node_modules",
  "@portkey-ai",
  "gateway",
  "build",
  "start-server.js",
);

export async function startUpstream(): Promise<UpstreamTarget> {
  const port = await freePort();
  const target = await startTarget({
    name: upstreamName,
    core: loadCore,
    file: process.execPath,
    args: [path.join(benchDirectory, "fake-upstream.ts"), "--port", String(port)],
    port,
    readyPath: "/_bench/stats",
  });
  return {
    ...target,
    setShape: async (shape: Partial<StreamShape>) => {
      const response = await fetch(`${target.origin}/_bench/config`, {
        method: "POST",
        body: JSON.stringify(shape),
      });
      if (!response.ok) throw new Error(`fake upstream refused ${JSON.stringify(shape)}: ${response.status}`);
      await response.arrayBuffer();
    },
    closeStreams: async () => {
      const response = await fetch(`${target.origin}/_bench/reset`, { method: "POST" });
      return ((await response.json()) as { closed: number }).closed;
    },
    openStreams: async () => {
      const response = await fetch(`${target.origin}/_bench/stats`);
      return ((await response.json()) as { openStreams: number }).openStreams;
    },
  };
}

/** What the service is started with: the target's options, in the environment `startService` gives it. */
export type ServiceOptions = {
  upstreamOrigin: string;
  model: string;
  scratchDirectory: string;
  environment?: Record<string, string>;
  /** Another name for a second service process with a different configuration. */
  name?: string;
};

/**
 * The service's environment as it would run in production, with everything the run does not
 * measure switched off or pointed at the fake upstream.
 */
export function serviceEnvironment(options: ServiceOptions, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    // The production default: the per-request and per-model-call log lines are part of the hot path.
    LOG_LEVEL: "info",
    LLM_MODEL: options.model,
    OPENAI_BASE_URL: `${options.upstreamOrigin}/v1`,
    OPENAI_API_KEY: "bench",
    MAX_CONCURRENT_STREAMS: "100000",
    // Idle streams wait minutes for a first chunk; a retry would hide an upstream failure.
    LLM_TIMEOUT_MS: "600000",
    LLM_IDLE_TIMEOUT_MS: "600000",
    STREAM_STALL_MS: "600000",
    LLM_MAX_RETRIES: "0",
    DATA_DIR: path.join(options.scratchDirectory, "data"),
    API_KEYS: "",
    REDIS_URL: "",
    DATABASE_URL: "",
    LANGSMITH_TRACING: "false",
    OTEL_EXPORTER_OTLP_ENDPOINT: "",
    ...options.environment,
  };
}

/**
 * The service (see `serviceEnvironment`). It runs in a scratch directory so a developer's `.env`
 * (API keys, Redis) cannot change what is measured.
 */
export async function startService(options: ServiceOptions): Promise<TargetProcess> {
  const port = await freePort();
  return startTarget({
    name: options.name ?? serviceName,
    core: serviceCore,
    file: process.execPath,
    args: [serviceEntry],
    port,
    cwd: options.scratchDirectory,
    readyPath: "/health",
    environment: serviceEnvironment(options, port),
  });
}

export async function startBare(chatBodyFile?: string): Promise<TargetProcess> {
  const port = await freePort();
  const args = [path.join(benchDirectory, "bare-fastify.ts"), "--port", String(port)];
  if (chatBodyFile) args.push("--chat-body-file", chatBodyFile);
  return startTarget({ name: bareName, core: serviceCore, file: process.execPath, args, port });
}

/**
 * The bare relay, on the service's core like every target under test: what relaying alone costs
 * there, with none of the service's work.
 */
export async function startBareRelay(upstreamOrigin: string): Promise<TargetProcess> {
  const port = await freePort();
  const args = [
    path.join(benchDirectory, "bare-relay.ts"),
    "--port",
    String(port),
    "--upstream",
    upstreamOrigin,
  ];
  return startTarget({ name: bareRelayName, core: serviceCore, file: process.execPath, args, port });
}

export const portkeyInstalled = (): boolean => existsSync(portkeyEntry);

/** Portkey's gateway, routed to the fake upstream by its own headers, as its docs describe. */
export async function startPortkey(upstreamOrigin: string): Promise<TargetProcess> {
  const port = await freePort();
  return startTarget({
    name: portkeyName,
    core: serviceCore,
    file: process.execPath,
    args: [portkeyEntry, `--port=${port}`, "--headless"],
    port,
    cwd: path.join(benchDirectory, "peers"),
    headers: {
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `${upstreamOrigin}/v1`,
      authorization: "Bearer bench",
    },
  });
}
