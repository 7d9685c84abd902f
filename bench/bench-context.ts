import type { StreamShape } from "./fake-upstream.ts";
import type { TargetProcess } from "./target-process.ts";

export type RunOptions = {
  quick: boolean;
  rounds: number;
  primeSeconds: number;
  /** Length of one measurement of one target in one round. */
  measureSeconds: number;
  soakSeconds: number;
  /** Concurrent-stream counts tried in order until one stalls. */
  streamRamp: number[];
  idleStreams: number;
  jobsTimeoutSeconds: number;
};

/** The fake upstream, plus the control calls that reshape its answers between scenarios. */
export type UpstreamTarget = TargetProcess & {
  setShape: (shape: Partial<StreamShape>) => Promise<void>;
  openStreams: () => Promise<number>;
  /** Closes every stream still open at the fake upstream; returns how many there were. */
  closeStreams: () => Promise<number>;
};

/** What a scenario gets: the running targets, the options, and where to say what it is doing. */
export type BenchContext = {
  options: RunOptions;
  upstream: UpstreamTarget;
  service: TargetProcess;
  bare: TargetProcess;
  /** node:http plus one undici pool to the fake upstream: the floor of a relay's added latency. */
  bareRelay: TargetProcess;
  portkey: TargetProcess | undefined;
  /** The `model` of every completions request: the first id the service's `GET /v1/models` lists. */
  requestModel: string;
  wrkAvailable: boolean;
  openFileLimit: number;
  log: (line: string) => void;
};

export const completionsPath = "/v1/chat/completions";

/** The model the fake upstream is configured as (`LLM_MODEL=openai:bench-model`). */
export const upstreamModel = "bench-model";

/** The request every completions scenario sends, to every target alike. */
export function completionRequest(stream: boolean, model: string): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: "Say hello to the benchmark." }],
    stream,
  });
}

/**
 * Runs `measure` for every target in every round, rotating the order each round so that no
 * target always runs first (the machine is shared and its load drifts).
 */
export async function interleaved<T>(
  rounds: number,
  targets: TargetProcess[],
  measure: (target: TargetProcess, round: number) => Promise<T>,
): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(targets.map((target) => [target.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < targets.length; index++) {
      const target = targets[(index + round) % targets.length];
      results.get(target.name)?.push(await measure(target, round));
    }
  }
  return results;
}
