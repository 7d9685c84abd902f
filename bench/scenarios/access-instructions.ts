/**
 * What authentication plus rate limiting cost per request, counted in instructions rather than
 * timed: the open service and the service with a virtual key (limits in process) each run under
 * valgrind's callgrind, and the instructions their event-loop thread executes over the same
 * number of `/chat` answers are compared. Throughput on this shared machine moves by a third from
 * one round to the next (other guests take the host); an instruction count does not, so this is
 * the figure that shows whether a change to the keyed path made it cheaper.
 *
 * It counts user-space instructions on the main thread only: kernel time (about a fifth of a
 * request here, the same in both) and the cost of cache misses are not in it. Opt-in
 * (`--only instructions`): each configuration takes ~2 minutes under valgrind.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import type { BenchContext } from "../bench-context.ts";
import { serviceCore } from "../pinned-command.ts";
import type { ScenarioResult } from "../results.ts";
import { ratioOf, skippedScenario, unmeasuredRow } from "../results.ts";
import { freePort, startTarget } from "../target-process.ts";
import { serviceEntry, serviceEnvironment } from "../targets.ts";
import { benchAdminKey, createBenchKey, openServiceName } from "./access-cost.ts";
import { chatPath, chatRequest } from "./echo-chat.ts";

/** Answers before the count starts: the JIT has compiled the request path by then. */
export const WARM_ANSWERS = 2000;
/** Answers counted. */
export const MEASURED_ANSWERS = 2000;
/** Requests in flight, as the throughput scenario's wrk keeps them. */
const CONNECTIONS = 50;
/** Instructions a request may grow by and still be within the throughput target of ≥ 0.9x. */
const MAX_RATIO = 1 / 0.9;

const marksFile = path.join(import.meta.dirname, "..", "callgrind-marks.ts");

/** Why the scenario cannot run here, or undefined when valgrind and callgrind_annotate are present. */
export function callgrindMissing(): string | undefined {
  // Present is enough: callgrind_annotate exits 255 for every informational flag.
  for (const tool of ["valgrind", "callgrind_annotate"]) {
    if (spawnSync(tool, ["--version"]).error !== undefined) {
      return `${tool} is not installed (Debian: apt-get install valgrind)`;
    }
  }
  return undefined;
}

type Counted = {
  /** Instructions of the event loop's thread per answer. */
  instructionsPerAnswer: number;
  /**
   * V8 runtime calls a request that define an object literal's computed property
   * (`Runtime_DefineKeyedOwnPropertyInLiteral`, ~1,300 instructions each). Most come from
   * `process.nextTick`'s tick objects, built in the runtime in some processes and not in others:
   * the per-process state described at ACCESS_PROCESSES, shown so two counts can be compared.
   */
  runtimeLiteralDefinitions: number;
};

export async function accessInstructions(
  context: BenchContext,
  scratchDirectory: string,
  upstreamOrigin: string,
): Promise<ScenarioResult> {
  const scenario = "auth + rate limits, /chat on the echo model, under callgrind";
  const row = {
    metric: "event-loop instructions a request, limits in process",
    unit: "instructions",
    baselineName: openServiceName,
    target: `≤ ${MAX_RATIO.toFixed(2)}x`,
  };
  const missing = callgrindMissing();
  if (missing !== undefined) return skippedScenario(scenario, missing, [unmeasuredRow(row)]);
  const count = (name: string, keyed: boolean) =>
    countUnderCallgrind({
      directory: path.join(scratchDirectory, `instructions-${name}`),
      keyed,
      upstreamOrigin,
      log: (message) => context.log(`${scenario}, ${name}: ${message}`),
    });
  // One after the other, each alone on the service's core with the requests sent from the load
  // core, as in the throughput rounds: what the event loop finds ready at each turn (one request or
  // fifty) changes the count of a request, and so does the timers' work per second, at the ~40
  // answers a second valgrind allows. Run side by side on unequal cores the two differed by 14 %
  // where, alike, they differed by 10 %.
  const open = await count("open", false);
  const keyed = await count("keyed", true);
  const ratio = ratioOf(keyed.instructionsPerAnswer, open.instructionsPerAnswer);
  return {
    name: scenario,
    rows: [
      {
        scenario,
        ...row,
        service: Math.round(keyed.instructionsPerAnswer),
        baseline: Math.round(open.instructionsPerAnswer),
        ratio,
        met: ratio === null ? null : ratio <= MAX_RATIO,
        peers: [],
        note: [
          `${MEASURED_ANSWERS} answers counted after ${WARM_ANSWERS}, ${CONNECTIONS} at a time`,
          "user space of the event loop's thread, kernel time not counted",
          `runtime literal definitions a request (~1,300 instructions each, V8's per-process state): keyed ${keyed.runtimeLiteralDefinitions.toFixed(1)}, open ${open.runtimeLiteralDefinitions.toFixed(1)}`,
        ].join("; "),
      },
    ],
    raw: { open, keyed, warmAnswers: WARM_ANSWERS, measuredAnswers: MEASURED_ANSWERS },
  };
}

async function countUnderCallgrind(options: {
  directory: string;
  keyed: boolean;
  upstreamOrigin: string;
  log: (message: string) => void;
}): Promise<Counted> {
  mkdirSync(options.directory, { recursive: true });
  const port = await freePort();
  const outFile = path.join(options.directory, "callgrind.out");
  const environment = {
    ...serviceEnvironment(
      {
        upstreamOrigin: options.upstreamOrigin,
        model: "echo",
        scratchDirectory: options.directory,
        environment: {
          ECHO_DELAY_MS: "0",
          RUN_WORKER: "false",
          // Under valgrind every request is ~50x slower: load shedding would refuse them. With it
          // off nothing samples the load either: a sampler's work each second, spread over the ~40
          // answers a second valgrind allows, would count as the answers' own.
          MAX_EVENT_LOOP_DELAY_MS: "0",
          ...(options.keyed ? { ADMIN_API_KEY: benchAdminKey } : {}),
        },
      },
      port,
    ),
    CALLGRIND_WARM_ANSWERS: String(WARM_ANSWERS),
    CALLGRIND_MEASURED_ANSWERS: String(MEASURED_ANSWERS),
  };
  // On the service's core: the orchestrator, which sends the requests, is pinned to the load core.
  const service = await startTarget({
    name: options.keyed ? "service under callgrind, keyed" : "service under callgrind, open",
    core: serviceCore,
    file: "valgrind",
    args: [
      "--tool=callgrind",
      // V8 writes and rewrites machine code on the heap: valgrind must notice, or it runs stale code.
      "--smc-check=all-non-file",
      "--zero-before=uv_os_setpriority",
      "--dump-before=uv_os_getpriority",
      `--callgrind-out-file=${outFile}`,
      process.execPath,
      "--import",
      marksFile,
      serviceEntry,
    ],
    port,
    cwd: options.directory,
    readyPath: "/health",
    // valgrind translates the whole of Node before the service can listen: tens of seconds.
    readyTimeoutMs: 180_000,
    environment,
  });
  try {
    options.log("started under valgrind");
    const authorization = options.keyed ? `Bearer ${await createBenchKey(service.origin)}` : undefined;
    // A few more than counted, so the last counted answers are still under full load.
    const refused = await sendChats(port, WARM_ANSWERS + MEASURED_ANSWERS + CONNECTIONS, authorization);
    if (refused > 0) throw new Error(`${refused} /chat answers were not 200`);
    const dump = `${outFile}.1`;
    if (!existsSync(dump)) throw new Error(`callgrind wrote no dump at ${dump}`);
    options.log("counted");
    return readCounts(dump);
  } finally {
    await service.stop();
  }
}

/** Sends `total` chats, `CONNECTIONS` at a time on kept-alive connections; resolves with the non-200 count. */
function sendChats(port: number, total: number, authorization: string | undefined): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const headers: http.OutgoingHttpHeaders = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(chatRequest),
    ...(authorization === undefined ? {} : { authorization }),
  };
  let sent = 0;
  let finished = 0;
  let refused = 0;
  return new Promise((resolve, reject) => {
    const sendNext = () => {
      if (sent >= total) return;
      sent += 1;
      const request = http.request(
        { host: "127.0.0.1", port, path: chatPath, method: "POST", headers, agent },
        (response) => {
          if (response.statusCode !== 200) refused += 1;
          response.resume();
          response.on("end", () => {
            finished += 1;
            if (finished === total) {
              agent.destroy();
              resolve(refused);
            } else sendNext();
          });
        },
      );
      request.on("error", (error) => {
        agent.destroy();
        reject(error);
      });
      request.end(chatRequest);
    };
    for (let connection = 0; connection < CONNECTIONS; connection++) sendNext();
  });
}

/** Reads the counted stretch's figures out of callgrind's dump with `callgrind_annotate`. */
export function readCounts(dump: string): Counted {
  const annotate = (...args: string[]): string => {
    const result = spawnSync("callgrind_annotate", [...args, "--threshold=100", dump], {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    if (result.status !== 0) throw new Error(`callgrind_annotate failed: ${result.stderr}`);
    return result.stdout;
  };
  // Everything the event loop's thread runs is inside uv_run's caller, node::SpinEventLoopInternal.
  const loop = /^\s*([\d,]+) \([^)]*\)\s+\S*node::SpinEventLoopInternal\(/m.exec(annotate("--inclusive=yes"));
  if (loop === null) throw new Error(`no node::SpinEventLoopInternal in ${dump}`);
  return {
    instructionsPerAnswer: parseCount(loop[1]) / MEASURED_ANSWERS,
    runtimeLiteralDefinitions:
      callsOf(annotate("--tree=caller"), "Runtime_DefineKeyedOwnPropertyInLiteral") / MEASURED_ANSWERS,
  };
}

const parseCount = (text: string): number => Number(text.replaceAll(",", ""));

/**
 * How often `functionName` was called, from `--tree=caller` output: its entry is the line marked
 * `*`, and the lines above it in the same block are its callers, each with `(N x)`.
 */
export function callsOf(tree: string, functionName: string): number {
  const lines = tree.split("\n");
  let calls = 0;
  for (let index = 0; index < lines.length; index++) {
    if (!(lines[index].includes(" *  ") && lines[index].includes(functionName))) continue;
    for (let caller = index - 1; caller >= 0 && lines[caller].includes(" < "); caller--) {
      const count = /\(([\d,]+)x\)/.exec(lines[caller]);
      if (count !== null) calls += parseCount(count[1]);
    }
  }
  return calls;
}
