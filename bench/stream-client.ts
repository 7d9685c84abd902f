/**
 * The streaming load generator: a Node process on the load core that holds N SSE streams and
 * timestamps every chunk as it arrives, because wrk cannot see inside a streamed body.
 *
 *   node bench/stream-client.ts --url URL --body JSON --mode closed-loop --connections 50 --duration-seconds 10
 *   node bench/stream-client.ts --url URL --body JSON --mode burst --streams 5000 --interval-ms 20
 *   node bench/stream-client.ts --url URL --body JSON --mode hold --streams 2000
 *
 * closed-loop: each connection runs streams back to back for the duration (time to first byte, CPU).
 * burst: opens N streams within a fraction of a second and waits for all of them (stalled chunks).
 * hold: opens N streams, prints `{"event":"opened"}` and keeps them open until SIGTERM (idle memory).
 * The result is one JSON line, the last on stdout.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadCore, pinnedCommand } from "./pinned-command.ts";
import { type CoreUse, coreBusyShare, coreShare, sampleCore, sampleCpu } from "./process-stats.ts";
import { lastJsonLine, runCommand } from "./run-command.ts";
import { type Summary, summarize } from "./statistics.ts";

export type StreamClientResult = {
  mode: string;
  started: number;
  completed: number;
  failed: number;
  /** Failure reasons (HTTP status or error code) and how often each happened. */
  failures: Record<string, number>;
  /** Streams with a gap between two chunks longer than `stallThresholdMs`. */
  stalledStreams: number;
  stallThresholdMs: number;
  /** From sending the request to the first body byte. */
  timeToFirstByteMs: Summary;
  /** From sending the request to the first chunk with text in it. */
  timeToFirstContentMs: Summary;
  /** Between two consecutive arrivals of data on one stream. */
  chunkGapMs: Summary;
  framesPerStream: number;
  streamsPerSecond: number;
  peakOpenStreams: number;
  /** Most streams at once between their first byte and their end: the concurrency really reached. */
  peakActiveStreams: number;
  durationSeconds: number;
  /** CPU of `--watch-pid` and its core over exactly the measured loop, without this process's start-up. */
  watched?: CoreUse;
};

type StreamOptions = { url: URL; body: string; headers: Record<string, string>; agent: http.Agent };
type StreamOutcome = {
  failure?: string;
  timeToFirstByteMs?: number;
  timeToFirstContentMs?: number;
  maxGapMs: number;
  frames: number;
};

// The first frame with text: a role-only first frame (`"content":""`) is not an answer yet.
const contentPattern = /"content"\s*:\s*"[^"]/;

class Recorder {
  started = 0;
  completed = 0;
  failed = 0;
  open = 0;
  peakOpen = 0;
  active = 0;
  peakActive = 0;
  frames = 0;
  stalled = 0;
  readonly failures: Record<string, number> = {};
  readonly firstBytes: number[] = [];
  readonly firstContents: number[] = [];
  readonly gaps: number[] = [];
  readonly stallThresholdMs: number;
  constructor(stallThresholdMs: number) {
    this.stallThresholdMs = stallThresholdMs;
  }
}

/** One streamed request; every gap goes into the recorder as it happens. */
function runStream(
  options: StreamOptions,
  recorder: Recorder,
  requests: Set<http.ClientRequest>,
): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const outcome: StreamOutcome = { maxGapMs: 0, frames: 0 };
    let lastArrival = 0;
    let previousTail = "";
    let sawDone = false;
    let settled = false;
    recorder.started++;
    recorder.open++;
    recorder.peakOpen = Math.max(recorder.peakOpen, recorder.open);
    const settle = (failure?: string): void => {
      if (settled) return;
      settled = true;
      recorder.open--;
      if (lastArrival !== 0) recorder.active--;
      requests.delete(request);
      if (!failure && !sawDone) failure = "ended without [DONE]";
      if (failure) {
        outcome.failure = failure;
        recorder.failed++;
        recorder.failures[failure] = (recorder.failures[failure] ?? 0) + 1;
      } else {
        recorder.completed++;
        recorder.frames += outcome.frames;
        if (outcome.timeToFirstByteMs !== undefined) recorder.firstBytes.push(outcome.timeToFirstByteMs);
        if (outcome.timeToFirstContentMs !== undefined)
          recorder.firstContents.push(outcome.timeToFirstContentMs);
        if (outcome.maxGapMs > recorder.stallThresholdMs) recorder.stalled++;
      }
      resolve(outcome);
    };
    const request = http.request(options.url, {
      method: "POST",
      agent: options.agent,
      headers: { "content-type": "application/json", accept: "text/event-stream", ...options.headers },
    });
    requests.add(request);
    request.on("response", (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        response.on("end", () => settle(`HTTP ${response.statusCode}`));
        return;
      }
      response.setEncoding("utf8");
      response.on("data", (text: string) => {
        const now = performance.now();
        if (lastArrival === 0) {
          outcome.timeToFirstByteMs = now - startedAt;
          recorder.active++;
          if (recorder.active > recorder.peakActive) recorder.peakActive = recorder.active;
        } else {
          const gap = now - lastArrival;
          recorder.gaps.push(gap);
          if (gap > outcome.maxGapMs) outcome.maxGapMs = gap;
        }
        lastArrival = now;
        if (outcome.timeToFirstContentMs === undefined && contentPattern.test(text)) {
          outcome.timeToFirstContentMs = now - startedAt;
        }
        // A frame ends with a blank line; the two newlines may arrive in different reads.
        const joined = previousTail + text;
        for (let at = joined.indexOf("\n\n"); at !== -1; at = joined.indexOf("\n\n", at + 2))
          outcome.frames++;
        previousTail = text.slice(-1);
        if (!sawDone && joined.includes("[DONE]")) sawDone = true;
      });
      response.on("end", () => settle());
      response.on("error", (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
    });
    request.on("error", (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
    request.end(options.body);
  });
}

function resultOf(mode: string, recorder: Recorder, durationSeconds: number): StreamClientResult {
  return {
    mode,
    started: recorder.started,
    completed: recorder.completed,
    failed: recorder.failed,
    failures: recorder.failures,
    stalledStreams: recorder.stalled,
    stallThresholdMs: recorder.stallThresholdMs,
    timeToFirstByteMs: summarize(recorder.firstBytes),
    timeToFirstContentMs: summarize(recorder.firstContents),
    chunkGapMs: summarize(recorder.gaps),
    framesPerStream: recorder.completed > 0 ? recorder.frames / recorder.completed : 0,
    streamsPerSecond: recorder.completed / durationSeconds,
    peakOpenStreams: recorder.peakOpen,
    peakActiveStreams: recorder.peakActive,
    durationSeconds,
  };
}

/** Opens `count` streams in batches, so a burst does not overflow the listen backlog of the target. */
async function openStreams(
  count: number,
  batch: number,
  open: () => Promise<StreamOutcome>,
): Promise<Promise<StreamOutcome>[]> {
  const pending: Promise<StreamOutcome>[] = [];
  for (let index = 0; index < count; index++) {
    pending.push(open());
    if ((index + 1) % batch === 0) await sleep(10);
  }
  return pending;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      body: { type: "string" },
      header: { type: "string", multiple: true, default: [] },
      mode: { type: "string", default: "closed-loop" },
      connections: { type: "string", default: "50" },
      "duration-seconds": { type: "string", default: "10" },
      streams: { type: "string", default: "1000" },
      "open-batch": { type: "string" },
      "interval-ms": { type: "string", default: "10" },
      "stall-factor": { type: "string", default: "10" },
      "timeout-seconds": { type: "string", default: "120" },
      "watch-pid": { type: "string" },
      "watch-core": { type: "string" },
    },
  });
  if (!values.url || !values.body) throw new Error("--url and --body are required");
  const headers: Record<string, string> = {};
  for (const header of values.header) {
    const colon = header.indexOf(":");
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const mode = values.mode;
  const recorder = new Recorder(Number(values["interval-ms"]) * Number(values["stall-factor"]));
  const requests = new Set<http.ClientRequest>();
  const connections = Number(values.connections);
  const agent =
    mode === "closed-loop"
      ? new http.Agent({ keepAlive: true, maxSockets: connections })
      : new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const options: StreamOptions = { url: new URL(values.url), body: values.body, headers, agent };
  const open = (): Promise<StreamOutcome> => runStream(options, recorder, requests);
  const streams = Number(values.streams);
  // Opening spread over ~0.5 s: a 64-chunk stream lasts 1.3 s, so all N still overlap, while an
  // accept storm of thousands in one tick would stall the streams already running (measured:
  // 281 of 1000 stalled at the baseline when opened 250 per 10 ms, none at 17 per 10 ms).
  const openBatch = values["open-batch"]
    ? Number(values["open-batch"])
    : Math.max(1, Math.ceil(streams / 50));
  const startedAt = performance.now();
  const elapsedSeconds = (): number => (performance.now() - startedAt) / 1000;
  const print = (value: unknown): void => {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  };
  // A stream that never ends must not hang the run: report what was seen and leave.
  const deadline = setTimeout(() => {
    print({ ...resultOf(mode, recorder, elapsedSeconds()), timedOut: true, stillOpen: recorder.open });
    process.exit(2);
  }, Number(values["timeout-seconds"]) * 1000);
  deadline.unref();

  if (mode === "closed-loop") {
    const watchPid = values["watch-pid"] ? Number(values["watch-pid"]) : undefined;
    const cpuBefore = watchPid ? sampleCpu(watchPid) : undefined;
    const coreBefore = values["watch-core"] ? sampleCore(Number(values["watch-core"])) : undefined;
    const endAt = performance.now() + Number(values["duration-seconds"]) * 1000;
    const loop = async (): Promise<void> => {
      while (performance.now() < endAt) {
        const outcome = await open();
        // A target that refuses instantly would otherwise spin this loop at full speed.
        if (outcome.failure) await sleep(10);
      }
    };
    await Promise.all(Array.from({ length: connections }, loop));
    const watched =
      watchPid && cpuBefore && coreBefore
        ? {
            targetShare: coreShare(cpuBefore, sampleCpu(watchPid)),
            coreBusy: coreBusyShare(coreBefore, sampleCore(Number(values["watch-core"]))),
          }
        : undefined;
    print({ ...resultOf(mode, recorder, elapsedSeconds()), watched });
    agent.destroy();
  } else if (mode === "burst") {
    await Promise.all(await openStreams(streams, openBatch, open));
    print(resultOf(mode, recorder, elapsedSeconds()));
  } else if (mode === "hold") {
    const pending = await openStreams(streams, openBatch, open);
    print({ event: "opened", streams });
    process.on("SIGTERM", () => {
      for (const request of requests) request.destroy();
      print({ ...resultOf(mode, recorder, elapsedSeconds()), stillOpen: recorder.open });
      process.exit(0);
    });
    await Promise.all(pending);
    print(resultOf(mode, recorder, elapsedSeconds()));
  } else {
    throw new Error(`unknown --mode ${mode}: closed-loop, burst or hold`);
  }
  process.exit(0);
}

export type StreamClientOptions = {
  url: string;
  body: string;
  headers?: Record<string, string>;
  mode: "closed-loop" | "burst" | "hold";
  connections?: number;
  durationSeconds?: number;
  streams?: number;
  intervalMs: number;
  timeoutSeconds: number;
  /** A target process and its core whose CPU use the client reads over its measured loop. */
  watch?: { pid: number; core: number };
};

function clientCommand(options: StreamClientOptions) {
  const args = [
    fileURLToPath(import.meta.url),
    "--url",
    options.url,
    "--body",
    options.body,
    "--mode",
    options.mode,
    "--interval-ms",
    String(options.intervalMs),
    "--timeout-seconds",
    String(options.timeoutSeconds),
  ];
  if (options.connections !== undefined) args.push("--connections", String(options.connections));
  if (options.durationSeconds !== undefined) args.push("--duration-seconds", String(options.durationSeconds));
  if (options.streams !== undefined) args.push("--streams", String(options.streams));
  if (options.watch)
    args.push("--watch-pid", String(options.watch.pid), "--watch-core", String(options.watch.core));
  for (const [name, value] of Object.entries(options.headers ?? {}))
    args.push("--header", `${name}: ${value}`);
  return pinnedCommand(loadCore, process.execPath, args);
}

/** Runs the client as its own process on the load core and returns its result line. */
export async function runStreamClient(options: StreamClientOptions): Promise<StreamClientResult> {
  const result = await runCommand(clientCommand(options), {
    timeoutMs: (options.timeoutSeconds + 30) * 1000,
  });
  const parsed = lastJsonLine(result.stdout) as StreamClientResult | undefined;
  if (!parsed || !("mode" in parsed)) {
    throw new Error(`stream client printed no result (exit ${result.code}): ${result.stderr.slice(-2000)}`);
  }
  return parsed;
}

export type HeldStreams = { opened: Promise<void>; release: () => Promise<StreamClientResult | undefined> };

/** Starts a client in hold mode: `opened` resolves once every request is sent; `release` closes them all. */
export function holdStreams(options: StreamClientOptions): HeldStreams {
  const command = clientCommand({ ...options, mode: "hold" });
  const child = spawn(command.file, command.args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let resolveOpened: () => void = () => {};
  let rejectOpened: (error: Error) => void = () => {};
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  child.stdout.setEncoding("utf8").on("data", (part: string) => {
    stdout += part;
    if (stdout.includes('"event":"opened"')) resolveOpened();
  });
  child.stderr.setEncoding("utf8").on("data", (part: string) => {
    stderr += part;
  });
  const exited = new Promise<void>((resolve) =>
    child.on("exit", () => {
      rejectOpened(new Error(`stream client exited before opening its streams: ${stderr.slice(-2000)}`));
      resolve();
    }),
  );
  return {
    opened,
    release: async () => {
      child.kill("SIGTERM");
      await exited;
      return lastJsonLine(stdout) as StreamClientResult | undefined;
    },
  };
}
