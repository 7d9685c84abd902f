/**
 * Job rates come from the job queue's own script, `bench/jobs-bench.ts` (`npm run bench:jobs`),
 * run as a child on the service's core. Its contract: the last stdout line is JSON with, per queue (`sqlite`, `redis`),
 * enqueued and completed jobs per second for a no-op job with 8 workers. Key names are matched
 * loosely (`enqueue...`, `complet...`) so the two branches need not agree on spelling.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { BenchContext } from "../bench-context.ts";
import { pinnedCommand, serviceCore } from "../pinned-command.ts";
import { type Row, type ScenarioResult, skippedScenario, unmeasuredRow } from "../results.ts";
import { lastJsonLine, runCommand } from "../run-command.ts";

const queues = ["sqlite", "redis"] as const;

function rowTemplates(): Omit<Row, "scenario">[] {
  return queues
    .flatMap((queue) => [
      { metric: `${queue}: enqueued`, unit: "jobs/s", target: "≥ 2,000/s", minimum: 2000 },
      { metric: `${queue}: completed`, unit: "jobs/s", target: "≥ 1,000/s", minimum: 1000 },
    ])
    .map(({ minimum: _minimum, ...row }) => unmeasuredRow({ ...row, baselineName: "—" }));
}

/** The Redis queue is BullMQ: the script may name it either way. */
const queueNames: Record<string, readonly string[]> = { sqlite: ["sqlite"], redis: ["redis", "bullmq"] };

/** The first number under `queue` whose key matches `pattern`, searching nested objects. */
function findRate(value: unknown, queue: string, pattern: RegExp, insideQueue = false): number | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const names = queueNames[queue] ?? [queue];
  const record = value as Record<string, unknown>;
  // A queue named by a field (`{"queue": "bullmq", ...}`) as well as by a key (`{"sqlite": {...}}`).
  const namedHere = typeof record.queue === "string" && names.includes(record.queue.toLowerCase());
  for (const [key, child] of Object.entries(record)) {
    const inside = insideQueue || namedHere || names.some((name) => key.toLowerCase().includes(name));
    if (inside && typeof child === "number" && pattern.test(key)) return child;
    const found = findRate(child, queue, pattern, inside);
    if (found !== undefined) return found;
  }
  return undefined;
}

export async function jobRates(context: BenchContext, repositoryRoot: string): Promise<ScenarioResult> {
  const scenario = "jobs, no-op job, 8 workers";
  const script = path.join(repositoryRoot, "bench", "jobs-bench.ts");
  if (!existsSync(script)) {
    return skippedScenario(scenario, "skipped: bench/jobs-bench.ts not present", rowTemplates());
  }
  context.log(`${scenario}: node bench/jobs-bench.ts`);
  const result = await runCommand(pinnedCommand(serviceCore, process.execPath, [script]), {
    timeoutMs: context.options.jobsTimeoutSeconds * 1000,
    cwd: repositoryRoot,
    environment: {
      ...process.env,
      BENCH_QUICK: context.options.quick ? "1" : "",
      BENCH_DURATION_SECONDS: String(context.options.measureSeconds),
    },
  });
  const output = lastJsonLine(result.stdout);
  if (result.timedOut || output === undefined) {
    const why = result.timedOut
      ? `timed out after ${context.options.jobsTimeoutSeconds} s`
      : `exit ${result.code} without a JSON line: ${result.stderr.slice(-300)}`;
    return skippedScenario(scenario, `failed: bench/jobs-bench.ts ${why}`, rowTemplates());
  }
  const rows: Row[] = rowTemplates().map((template) => {
    const [queue, kind] = template.metric.split(": ");
    const rate =
      findRate(output, queue, kind === "enqueued" ? /enqueue.*per.?second/i : /complet.*per.?second/i) ??
      null;
    const minimum = kind === "enqueued" ? 2000 : 1000;
    return {
      ...template,
      scenario,
      service: rate,
      met: rate === null ? null : rate >= minimum,
      note: rate === null ? `no ${kind} rate for ${queue} in the script's output` : undefined,
    };
  });
  return { name: scenario, rows, raw: output };
}
