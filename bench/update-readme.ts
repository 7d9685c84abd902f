/**
 * Writes the latest results table into the README's "Performance" section, between
 * `<!-- bench:start -->` and `<!-- bench:end -->`. A full run wins over a newer quick one: the
 * README states the figures the targets are judged on.
 *
 *   node bench/update-readme.ts [bench/results/<name>.md]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const start = "<!-- bench:start -->";
const end = "<!-- bench:end -->";

export function latestResultsTable(resultsDirectory: string): string | undefined {
  if (!existsSync(resultsDirectory)) return undefined;
  const tables = readdirSync(resultsDirectory)
    .filter((name) => name.endsWith(".md"))
    .sort();
  const full = tables.filter((name) => !name.includes("-quick") && !name.includes("-partial"));
  const chosen = (full.length > 0 ? full : tables).at(-1);
  return chosen ? path.join(resultsDirectory, chosen) : undefined;
}

export function updateReadme(readmePath: string, tablePath: string): void {
  const table = readFileSync(tablePath, "utf8").trim();
  const relative = path.relative(path.dirname(readmePath), tablePath);
  const block = `${start}\nLatest results ([${path.basename(tablePath)}](${relative}), raw figures in the .json beside it):\n\n${table}\n${end}`;
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : "";
  let updated: string;
  if (readme.includes(start) && readme.includes(end)) {
    updated = readme.slice(0, readme.indexOf(start)) + block + readme.slice(readme.indexOf(end) + end.length);
  } else {
    const section = `## Performance\n\nMeasured with \`npm run bench\` (method and targets: bench/README.md).\n\n${block}\n`;
    updated = `${readme.trimEnd()}${readme ? "\n\n" : ""}${section}`;
  }
  writeFileSync(readmePath, updated);
  // Biome formats Markdown too (aligned table columns); format here so `npm run lint` stays clean.
  const biome = path.join(path.dirname(readmePath), "node_modules", ".bin", "biome");
  if (existsSync(biome)) spawnSync(biome, ["format", "--write", readmePath], { stdio: "ignore" });
}

if (import.meta.main) {
  const root = path.resolve(import.meta.dirname, "..");
  const tablePath = process.argv[2]
    ? path.resolve(process.argv[2])
    : latestResultsTable(path.join(root, "bench", "results"));
  if (!tablePath) {
    process.stderr.write("no results in bench/results yet: run `npm run bench` first\n");
    process.exit(1);
  }
  updateReadme(path.join(root, "README.md"), tablePath);
  process.stdout.write(`README.md now shows ${path.relative(root, tablePath)}\n`);
}
