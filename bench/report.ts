/** Turns a run's results into the Markdown table the README shows. */
import type { BenchRun, Row } from "./results.ts";

export function formatNumber(value: number | null, unit = ""): string {
  if (value === null || !Number.isFinite(value)) return "—";
  const magnitude = Math.abs(value);
  const digits = Number.isInteger(value) || magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  const text = value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return unit ? `${text} ${unit}` : text;
}

function formatRatio(ratio: number | null): string {
  return ratio === null ? "—" : `${ratio.toFixed(2)}x`;
}

function formatMet(row: Row): string {
  if (row.met === true) return "yes";
  if (row.met === false) return "**no**";
  return row.target === "—" ? "" : "not measured";
}

function formatPeers(row: Row): string {
  return row.peers
    .map(
      (peer) =>
        `${peer.name} ${formatNumber(peer.value)}${peer.ratio === null ? "" : ` (${formatRatio(peer.ratio)})`}`,
    )
    .join("; ");
}

const escapeCell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");

export function renderMarkdown(run: BenchRun): string {
  const machine = run.machine;
  const lines = [
    `Run of ${run.startedAt} (${run.mode}, ${Math.round(run.durationSeconds)} s): ${machine.cpuModel}, ` +
      `${machine.cores} cores, Node ${machine.node}, ${machine.wrk ?? "wrk missing"}, load average ` +
      `${machine.loadAverageAtStart} at start. Service on core 0 alone; fake upstream and load generators on core 1.`,
    "",
    "| scenario | metric | service | baseline | ratio | target | met? | peers (same run) | what limits it, as measured |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of run.scenarios.flatMap((scenario) => scenario.rows)) {
    const cells = [
      row.scenario,
      `${row.metric} (${row.unit})`,
      formatNumber(row.service),
      `${formatNumber(row.baseline)} (${row.baselineName})`,
      formatRatio(row.ratio),
      row.target,
      formatMet(row),
      formatPeers(row),
      row.note ?? "",
    ];
    lines.push(`| ${cells.map(escapeCell).join(" | ")} |`);
  }
  lines.push(
    "",
    'Figures are medians over the rounds (the stream ramp takes the worst round). "Added" figures are the ' +
      "service minus the fake upstream in the same round; their ratio is the service's total over the " +
      "upstream's. Peers run on core 0 like the service, one target at a time.",
  );
  if (run.incidents.length > 0) {
    lines.push(
      "",
      "Incidents during the run:",
      "",
      ...run.incidents.map((incident) => `- ${incident.replaceAll("\n", " ")}`),
    );
  }
  return `${lines.join("\n")}\n`;
}
