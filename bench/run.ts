/**
 * `npm run bench`: the whole measurement, side by side, in one run (method: bench/README.md).
 *
 *   npm run bench                 full run, < 20 min including the 10-minute soak; updates the README
 *   npm run bench -- --quick      ~2 min smoke run of every scenario with short durations
 *   npm run bench -- --only stream,max --rounds 3 --measure-seconds 4
 *   npm run bench -- --only instructions   the access cost counted under callgrind (~5 min, opt-in)
 *
 * It starts every target (fake upstream, service, bare Fastify, bare relay, Portkey when installed
 * under bench/peers/), primes each, runs the scenarios round by round with the targets interleaved,
 * and writes bench/results/<YYYY-MM-DD-HHMM>[-quick].json and .md.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  type BenchContext,
  completionRequest,
  completionsPath,
  type RunOptions,
  upstreamModel,
} from "./bench-context.ts";
import { serviceName, serviceWithoutLogLinesName } from "./build-row.ts";
import { machineInfo } from "./machine-info.ts";
import { canPin, loadCore } from "./pinned-command.ts";
import { startBenchRedis } from "./private-redis.ts";
import { discoverModel, probeEndpoint } from "./probe-endpoint.ts";
import { openFileLimits } from "./process-stats.ts";
import { renderMarkdown } from "./report.ts";
import type { BenchRun, ScenarioResult } from "./results.ts";
import {
  ACCESS_PROCESSES,
  type AccessTargets,
  accessCost,
  benchAdminKey,
  openServiceName,
  redisLimitsName,
  withVirtualKey,
} from "./scenarios/access-cost.ts";
import { accessInstructions } from "./scenarios/access-instructions.ts";
import { chatPath, chatRequest, echoChat } from "./scenarios/echo-chat.ts";
import { idleStreamMemory } from "./scenarios/idle-memory.ts";
import { jobRates } from "./scenarios/jobs.ts";
import { maxConcurrentStreams } from "./scenarios/max-streams.ts";
import { nonStreamAddedLatency, nonStreamThroughput } from "./scenarios/non-stream.ts";
import { oneDeploymentName, routingOverhead, writeBenchModelsFile } from "./scenarios/routing.ts";
import { soak } from "./scenarios/soak.ts";
import { streamFirstChunk } from "./scenarios/stream-first-chunk.ts";
import { runStreamClient } from "./stream-client.ts";
import type { TargetProcess } from "./target-process.ts";
import {
  portkeyInstalled,
  repositoryRoot,
  startBare,
  startBareRelay,
  startPortkey,
  startService,
  startUpstream,
} from "./targets.ts";
import { latestResultsTable, updateReadme } from "./update-readme.ts";
import { runWrk, wrkMissingMessage, wrkVersion } from "./wrk.ts";

const scenarioKeys = [
  "throughput",
  "latency",
  "stream",
  "max",
  "idle",
  "soak",
  "echo",
  "routing",
  "access",
  "jobs",
  "instructions",
] as const;
/** What a run measures unless `--only` says: everything but the ~5-minute callgrind count. */
const defaultScenarioKeys = scenarioKeys.filter((key) => key !== "instructions");

const presets: Record<"quick" | "full", RunOptions> = {
  quick: {
    quick: true,
    rounds: 2,
    primeSeconds: 2,
    measureSeconds: 2,
    soakSeconds: 20,
    streamRamp: [250, 500, 1000],
    idleStreams: 300,
    jobsTimeoutSeconds: 90,
  },
  // Budget: ~1 min priming, ~5 min of scenarios, 10 min soak, jobs, process starts: under 20 min.
  full: {
    quick: false,
    rounds: 2,
    primeSeconds: 10,
    measureSeconds: 5,
    soakSeconds: 600,
    // Starts low: on this shared machine the baseline itself stalls at 1,000-2,000 streams.
    streamRamp: [250, 500, 1000, 2000, 3000, 5000, 8000],
    idleStreams: 2000,
    jobsTimeoutSeconds: 120,
  },
};

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    "prime-seconds": { type: "string" },
    "measure-seconds": { type: "string" },
    "soak-seconds": { type: "string" },
    only: { type: "string" },
    "update-readme": { type: "boolean" },
  },
});
const preset = presets[values.quick ? "quick" : "full"];
const options: RunOptions = {
  ...preset,
  rounds: Math.max(2, Number(values.rounds ?? preset.rounds)),
  primeSeconds: Number(values["prime-seconds"] ?? preset.primeSeconds),
  measureSeconds: Number(values["measure-seconds"] ?? preset.measureSeconds),
  soakSeconds: Number(values["soak-seconds"] ?? preset.soakSeconds),
};
const only = new Set<string>(
  values.only ? values.only.split(",").map((key) => key.trim()) : defaultScenarioKeys,
);
for (const key of only) {
  if (!(scenarioKeys as readonly string[]).includes(key)) throw new Error(`--only: unknown scenario ${key}`);
}

const startedAt = new Date();
const runStartedMs = performance.now();
const log = (line: string): void => {
  const elapsed = Math.round((performance.now() - runStartedMs) / 1000);
  process.stderr.write(
    `[bench ${String(Math.floor(elapsed / 60)).padStart(2, "0")}:${String(elapsed % 60).padStart(2, "0")}] ${line}\n`,
  );
};

const running = new Set<TargetProcess>();
const track = (target: TargetProcess): TargetProcess => {
  running.add(target);
  return target;
};
const stop = async (target: TargetProcess | undefined): Promise<void> => {
  if (!target) return;
  running.delete(target);
  await target.stop();
};
/** Other processes of the run (its own Redis), stopped with the targets. */
const helpers = new Set<{ stop(): Promise<void> }>();
const stopAll = async (): Promise<void> => {
  await Promise.all([...running].map((target) => stop(target)));
  await Promise.all([...helpers].map((helper) => helper.stop()));
  helpers.clear();
};
process.on("SIGINT", () => {
  log("interrupted: stopping every target");
  stopAll().finally(() => process.exit(130));
});

/** ~primeSeconds of the load each target will see, so V8 has compiled the hot paths before we measure. */
async function prime(
  target: TargetProcess,
  path: string,
  body: string,
  streamBody: string | undefined,
): Promise<void> {
  const jsonOk = wrkAvailable && (await probeEndpoint(target, path, body, "json")).ok;
  const streamOk = streamBody !== undefined && (await probeEndpoint(target, path, streamBody, "sse")).ok;
  const shares = (jsonOk ? 1 : 0) + (streamOk ? 1 : 0);
  if (shares === 0) return;
  const seconds = Math.max(1, Math.round(options.primeSeconds / shares));
  if (jsonOk)
    await runWrk({
      url: `${target.origin}${path}`,
      body,
      headers: target.headers,
      connections: 50,
      durationSeconds: seconds,
    });
  if (streamOk && streamBody) {
    await runStreamClient({
      url: `${target.origin}${path}`,
      body: streamBody,
      headers: target.headers,
      mode: "closed-loop",
      connections: 50,
      durationSeconds: seconds,
      intervalMs: 10,
      timeoutSeconds: seconds + 60,
    });
  }
}

async function guarded(name: string, scenario: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  try {
    return await scenario();
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? error}`);
    return { name, skipped: `failed: ${(error as Error).message}`, rows: [], raw: { error: String(error) } };
  }
}

const wrkAvailable = wrkVersion() !== undefined;
if (!wrkAvailable) log(`${wrkMissingMessage} The JSON scenarios are recorded as skipped.`);
if (canPin) {
  // The orchestrator's own work (probes, /proc reads) belongs on the load core too; -a moves every thread.
  spawnSync("taskset", ["-a", "-pc", String(loadCore), String(process.pid)], { stdio: "ignore" });
} else {
  log("fewer than 2 cores: running unpinned, so the service shares its core with the load");
}
const openFileLimit = openFileLimits().hard;
const machine = machineInfo(repositoryRoot);
const scratchDirectory = mkdtempSync(path.join(os.tmpdir(), "bench-service-"));
const scenarios: ScenarioResult[] = [];
/** Crashes and other events a reader of the table must know about. */
const incidents: string[] = [];

try {
  log(`starting targets (${values.quick ? "quick" : "full"} run, ${options.rounds} rounds)`);
  const upstream = await startUpstream();
  track(upstream);
  const openaiService = track(
    await startService({
      upstreamOrigin: upstream.origin,
      model: `openai:${upstreamModel}`,
      scratchDirectory,
    }),
  );
  const bare = track(await startBare());
  const bareRelay = track(await startBareRelay(upstream.origin));
  const portkey = portkeyInstalled() ? track(await startPortkey(upstream.origin)) : undefined;
  if (!portkey) log("Portkey not installed under bench/peers/ (see bench/README.md): left out");
  const requestModel = (await discoverModel(openaiService)) ?? upstreamModel;
  log(`completions requests use model "${requestModel}"`);
  const context: BenchContext = {
    options,
    requestModel,
    upstream,
    service: openaiService,
    bare,
    bareRelay,
    portkey,
    wrkAvailable,
    openFileLimit,
    log,
  };

  const needsOpenai = ["throughput", "latency", "stream", "max", "idle", "soak"].some((key) => only.has(key));
  if (needsOpenai) {
    for (const target of [upstream, openaiService, bare, bareRelay, portkey]) {
      if (!target) continue;
      log(`priming ${target.name} for ${options.primeSeconds} s`);
      // Bare Fastify and the bare relay are measured only in the non-stream scenarios.
      const streams =
        target === bare || target === bareRelay ? undefined : completionRequest(true, context.requestModel);
      await prime(target, completionsPath, completionRequest(false, context.requestModel), streams);
    }
    const openaiScenarios: [string, (context: BenchContext) => Promise<ScenarioResult>][] = [
      ["throughput", nonStreamThroughput],
      ["latency", nonStreamAddedLatency],
      ["stream", streamFirstChunk],
      ["max", maxConcurrentStreams],
      ["idle", idleStreamMemory],
      ["soak", soak],
    ];
    for (const [key, scenario] of openaiScenarios) {
      if (!only.has(key)) continue;
      scenarios.push(await guarded(key, () => scenario(context)));
      // A crash is a finding, not the end of the run: record it, and give the next scenario a
      // fresh, primed service so one failure does not blank the rest of the table.
      const status = context.service.exitStatus();
      if (status) {
        const output = context.service.output().trim().split("\n").slice(-5).join("\n");
        incidents.push(
          `the service exited during \`${key}\` (${status}) and was restarted; its last output: ${output}`,
        );
        log(`service exited during ${key} (${status}); restarting it`);
        running.delete(context.service);
        context.service = track(
          await startService({
            upstreamOrigin: upstream.origin,
            model: `openai:${upstreamModel}`,
            scratchDirectory,
          }),
        );
        await prime(
          context.service,
          completionsPath,
          completionRequest(false, context.requestModel),
          completionRequest(true, context.requestModel),
        );
      }
      const portkeyStatus = context.portkey?.exitStatus();
      if (context.portkey && portkeyStatus) {
        incidents.push(`Portkey exited during \`${key}\` (${portkeyStatus}) and was left out afterwards`);
        running.delete(context.portkey);
        context.portkey = undefined;
      }
    }
  }
  await stop(context.service);
  await stop(context.portkey);
  await stop(bare);
  await stop(bareRelay);

  if (only.has("echo")) {
    // The echo model is a different configuration, so it gets its own service process; bare
    // Fastify restarts to return exactly the body that service answered.
    log("starting the service on the echo model");
    const echoService = track(
      await startService({
        upstreamOrigin: upstream.origin,
        model: "echo",
        scratchDirectory,
        environment: { ECHO_DELAY_MS: "0" },
      }),
    );
    // The same service without its per-request log lines (LOG_LEVEL=warn), in its own directory:
    // the difference is what the two lines the design asks for cost.
    const quietDirectory = path.join(scratchDirectory, "without-log-lines");
    mkdirSync(quietDirectory, { recursive: true });
    const echoServiceWithoutLogLines = track(
      await startService({
        upstreamOrigin: upstream.origin,
        model: "echo",
        scratchDirectory: quietDirectory,
        environment: { ECHO_DELAY_MS: "0", LOG_LEVEL: "warn" },
        name: serviceWithoutLogLinesName,
      }),
    );
    const probe = await probeEndpoint(echoService, chatPath, chatRequest, "json");
    const bodyFile = path.join(scratchDirectory, "chat-reply.json");
    if (probe.ok) writeFileSync(bodyFile, probe.body);
    const echoBare = track(await startBare(probe.ok ? bodyFile : undefined));
    const primed = probe.ok ? [echoService, echoServiceWithoutLogLines, echoBare] : [echoBare];
    for (const target of primed) {
      log(`priming ${target.name} on ${chatPath} for ${options.primeSeconds} s`);
      if (wrkAvailable) {
        await runWrk({
          url: `${target.origin}${chatPath}`,
          body: chatRequest,
          connections: 50,
          durationSeconds: options.primeSeconds,
        });
      }
    }
    const echoContext = { ...context, service: echoService, bare: echoBare };
    scenarios.push(
      await guarded("echo", () =>
        echoChat(echoContext, probe.ok ? undefined : probe.reason, echoServiceWithoutLogLines),
      ),
    );
    await stop(echoService);
    await stop(echoServiceWithoutLogLines);
    await stop(echoBare);
  }
  if (only.has("routing")) {
    // Two more service processes, the same but for their models file: one model of three
    // deployments (named "service", the row's subject) and of one (its peer).
    const routed = async (count: number, name: string) => {
      const directory = path.join(scratchDirectory, `routing-${count}`);
      mkdirSync(directory, { recursive: true });
      return track(
        await startService({
          upstreamOrigin: upstream.origin,
          model: `openai:${upstreamModel}`,
          scratchDirectory: directory,
          environment: { MODELS_FILE: writeBenchModelsFile(directory, context, count) },
          name,
        }),
      );
    };
    const three = await routed(3, serviceName);
    const one = await routed(1, oneDeploymentName);
    for (const target of [three, one]) {
      log(`priming ${target.name} for ${options.primeSeconds} s`);
      await prime(target, completionsPath, completionRequest(false, context.requestModel), undefined);
    }
    scenarios.push(await guarded("routing", () => routingOverhead(context, three, one)));
    await stop(three);
    await stop(one);
  }
  if (only.has("access")) {
    // Three configurations on the echo model: open, a virtual key with limits in process, and on Redis.
    log("starting the service open, with limits in process, and with limits on Redis");
    const start = (name: string, folder: string, environment: Record<string, string>) => {
      const directory = path.join(scratchDirectory, folder);
      mkdirSync(directory, { recursive: true });
      return startService({
        upstreamOrigin: upstream.origin,
        model: "echo",
        scratchDirectory: directory,
        environment: { ECHO_DELAY_MS: "0", RUN_WORKER: "false", ...environment },
        name,
      });
    };
    // Several processes of each configuration (see ACCESS_PROCESSES), each with its own data directory.
    const startEach = async (name: string, folder: string, environment: Record<string, string>) => {
      const processes: TargetProcess[] = [];
      for (let index = 1; index <= ACCESS_PROCESSES; index++) {
        processes.push(track(await start(name, `${folder}-${index}`, environment)));
      }
      return processes;
    };
    const withKeys = async (processes: readonly TargetProcess[]) => {
      const keyed: TargetProcess[] = [];
      for (const target of processes) keyed.push(await withVirtualKey(target));
      return keyed;
    };
    const open = await startEach(openServiceName, "access-open", {});
    const inProcess = await startEach(serviceName, "access-in-process", { ADMIN_API_KEY: benchAdminKey });
    const redis = await startBenchRedis(scratchDirectory);
    const redisMissing = redis ? undefined : "no redis-server installed and no Redis on 127.0.0.1:6379";
    if (redis) {
      helpers.add(redis);
      log(`limits on Redis: ${redis.where}`);
    }
    const onRedis = redis
      ? await startEach(redisLimitsName, "access-redis", {
          ADMIN_API_KEY: benchAdminKey,
          REDIS_URL: redis.url,
        })
      : undefined;
    const keyed: AccessTargets = {
      open,
      inProcess: await withKeys(inProcess),
      onRedis: onRedis && (await withKeys(onRedis)),
    };
    for (const target of [...keyed.open, ...keyed.inProcess, ...(keyed.onRedis ?? [])]) {
      if (!wrkAvailable) break;
      log(`priming ${target.name} at ${target.origin} on ${chatPath} for ${options.primeSeconds} s`);
      await runWrk({
        url: `${target.origin}${chatPath}`,
        body: chatRequest,
        headers: target.headers,
        connections: 50,
        durationSeconds: options.primeSeconds,
      });
    }
    scenarios.push(await guarded("access", () => accessCost(context, keyed, redisMissing, redis?.where)));
    for (const target of [...open, ...inProcess, ...(onRedis ?? [])]) await stop(target);
    if (redis) {
      helpers.delete(redis);
      await redis.stop();
    }
  }
  if (only.has("jobs")) scenarios.push(await guarded("jobs", () => jobRates(context, repositoryRoot)));
  if (only.has("instructions")) {
    scenarios.push(
      await guarded("instructions", () => accessInstructions(context, scratchDirectory, upstream.origin)),
    );
  }
} finally {
  await stopAll();
  rmSync(scratchDirectory, { recursive: true, force: true });
}

const finishedAt = new Date();
const run: BenchRun = {
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  durationSeconds: (performance.now() - runStartedMs) / 1000,
  mode: options.quick ? "quick" : "full",
  options: { ...options, only: [...only] },
  machine: {
    ...machine,
    loadAverageAtEnd: os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(" "),
  },
  scenarios,
  incidents,
};
const resultsDirectory = path.join(repositoryRoot, "bench", "results");
mkdirSync(resultsDirectory, { recursive: true });
const pad = (value: number): string => String(value).padStart(2, "0");
const stamp = `${startedAt.getUTCFullYear()}-${pad(startedAt.getUTCMonth() + 1)}-${pad(startedAt.getUTCDate())}-${pad(startedAt.getUTCHours())}${pad(startedAt.getUTCMinutes())}`;
const isDefaultRun = defaultScenarioKeys.every((key) => only.has(key));
const baseName = `${stamp}${options.quick ? "-quick" : ""}${isDefaultRun ? "" : "-partial"}`;
const markdown = renderMarkdown(run);
writeFileSync(path.join(resultsDirectory, `${baseName}.json`), `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(path.join(resultsDirectory, `${baseName}.md`), markdown);
process.stdout.write(`\n${markdown}\n`);
log(`wrote bench/results/${baseName}.json and .md in ${Math.round(run.durationSeconds)} s`);
if (!options.quick && run.durationSeconds > 20 * 60) {
  log("this run took longer than the 20-minute budget: shorten --measure-seconds or the stream ramp");
}
if (values["update-readme"] ?? (!options.quick && isDefaultRun)) {
  const latest = latestResultsTable(resultsDirectory);
  if (latest) {
    updateReadme(path.join(repositoryRoot, "README.md"), latest);
    log(`README.md Performance section now shows ${path.basename(latest)}`);
  }
}
process.exit(0);
