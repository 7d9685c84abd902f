// npm run eval [-- --database postgres://postgres@127.0.0.1:5432/test] [--no-postgres]
// recall@1, recall@5 and MRR of knowledge search, per store and mode, on the committed set
// (eval/knowledge-eval-set.json). Prints a Markdown table; the JSON rows are the last line.
import { parseArgs } from "node:util";
import pg from "pg";
import { type EvalRow, evaluateKnowledge, readEvalSet } from "./evaluate-knowledge.ts";

const { values } = parseArgs({
  options: {
    database: {
      type: "string",
      default: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
    "no-postgres": { type: "boolean", default: false },
  },
});

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const usePostgres = !values["no-postgres"] && (await reachable(values.database));
if (!values["no-postgres"] && !usePostgres) {
  process.stderr.write(`PostgreSQL at ${values.database} is not reachable: evaluating SQLite only.\n`);
}
const set = readEvalSet();
const rows = await evaluateKnowledge({ set, databaseUrl: usePostgres ? values.database : undefined });
const paraphrases = set.questions.filter((question) => question.kind === "paraphrase").length;
const format = (value: number) => value.toFixed(2);
const lines = [
  `${set.questions.length} questions (${paraphrases} paraphrases) over ${set.documents.length} documents (${[...new Set(set.documents.map((document) => document.format))].join(", ")}).`,
  "",
  "| store | mode | recall@1 | recall@5 | MRR | paraphrases: recall@1 | recall@5 | MRR |",
  "|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (row: EvalRow) =>
      `| ${row.store} | ${row.mode} | ${format(row.recallAt1)} | ${format(row.recallAt5)} | ${format(row.mrr)} | ${format(row.paraphrases.recallAt1)} | ${format(row.paraphrases.recallAt5)} | ${format(row.paraphrases.mrr)} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n${JSON.stringify(rows)}\n`);
