// The knowledge search evaluation: the committed set (knowledge-eval-set.json) is turned into real
// files (PDF, DOCX, HTML...), ingested by the real ingest processor into each store, and searched
// in each mode; recall@1, recall@5 and MRR say how often, and how high, the answering passage comes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config.ts";
import { createIngestDocumentProcessor } from "../src/jobs/processors/ingest-document.ts";
import { HybridKnowledgeStore } from "../src/knowledge/hybrid-knowledge-store.ts";
import type { KnowledgeStore } from "../src/knowledge/knowledge-store.ts";
import { PostgresKnowledgeStore } from "../src/knowledge/stores/postgres-knowledge-store.ts";
import { SqliteKnowledgeStore } from "../src/knowledge/stores/sqlite-knowledge-store.ts";
import { createChatCompletionsUpstreams } from "../src/llm/chat-completions-upstreams.ts";
import { createEmbeddingModels } from "../src/llm/create-embedding-models.ts";
import { createProviders } from "../src/llm/create-providers.ts";
import { createTextEmbedder } from "../src/llm/create-text-embedder.ts";
import { createModelRegistry } from "../src/llm/model-registry.ts";
import { startConceptEmbeddingServer } from "../test/support/concept-embedding-server.ts";
import { makeArticleHtml, makeDocx, makePdf } from "../test/support/document-fixtures.ts";

export type EvalDocument = {
  name: string;
  format: "pdf" | "docx" | "html" | "markdown" | "text" | "csv";
  title?: string;
  pages?: string[];
  paragraphs?: string[];
  text?: string;
};

export type EvalQuestion = {
  question: string;
  document: string;
  answer: string;
  kind: "lexical" | "paraphrase";
};

export type EvalSet = { documents: EvalDocument[]; questions: EvalQuestion[] };

/** How search ranks: full-text alone, or fused with one embedding model's vectors. */
export type EvalMode = "full-text" | "hybrid (echo)" | "hybrid (test embedding)";

export type EvalRow = {
  store: "SQLite" | "PostgreSQL";
  mode: EvalMode;
  questions: number;
  recallAt1: number;
  recallAt5: number;
  mrr: number;
  /** The same figures over the paraphrased questions only. */
  paraphrases: { recallAt1: number; recallAt5: number; mrr: number };
};

export const EVAL_SET_FILE = new URL("./knowledge-eval-set.json", import.meta.url);

export function readEvalSet(file: URL = EVAL_SET_FILE): EvalSet {
  return JSON.parse(readFileSync(file, "utf8")) as EvalSet;
}

/** Each document as the file a user would ingest. */
async function documentBytes(document: EvalDocument): Promise<Buffer> {
  switch (document.format) {
    case "pdf":
      return makePdf(document.pages ?? [], { title: document.title });
    case "docx":
      return makeDocx(document.paragraphs ?? []);
    case "html":
      return Buffer.from(
        makeArticleHtml({ title: document.title ?? document.name, paragraphs: document.paragraphs ?? [] }),
      );
    default:
      return Buffer.from(document.text ?? "");
  }
}

export type EvaluateOptions = {
  set?: EvalSet;
  /** PostgreSQL to evaluate on, with a schema of the run's own; skipped when absent. */
  databaseUrl?: string;
  modes?: readonly EvalMode[];
};

/** Every store and mode asked for, evaluated on the set; the rows in that order. */
export async function evaluateKnowledge(options: EvaluateOptions = {}): Promise<EvalRow[]> {
  const set = options.set ?? readEvalSet();
  const modes = options.modes ?? (["full-text", "hybrid (echo)", "hybrid (test embedding)"] as const);
  const folder = mkdtempSync(path.join(tmpdir(), "knowledge-eval-"));
  const ingestRoot = path.join(folder, "ingest");
  mkdirSync(ingestRoot, { recursive: true });
  for (const document of set.documents)
    writeFileSync(path.join(ingestRoot, document.name), await documentBytes(document));
  const server = await startConceptEmbeddingServer();
  const config = loadConfig({
    LLM_MODEL: "echo",
    OPENAI_BASE_URL: server.baseUrl,
    OPENAI_API_KEY: "eval",
    DATA_DIR: folder,
  });
  const upstreams = createChatCompletionsUpstreams(config);
  const registry = createModelRegistry({
    defaultModel: "echo",
    providers: createProviders({ config }),
    chatCompletionsUpstreams: upstreams.byProvider,
  });
  const embedder = (model: string) =>
    createTextEmbedder({
      model: registry.resolve(model),
      setting: `the embedding model ${model}`,
      embeddingModels: createEmbeddingModels({ config }),
      limits: { timeoutMs: 30_000, idleTimeoutMs: 30_000, maxRetries: 2 },
    });
  const rows: EvalRow[] = [];
  try {
    const stores: {
      name: EvalRow["store"];
      open: (run: number) => Promise<{ store: KnowledgeStore; drop: () => Promise<void> }>;
    }[] = [
      {
        name: "SQLite",
        open: async (run) => {
          const store = new SqliteKnowledgeStore({ file: path.join(folder, `knowledge-${run}.sqlite`) });
          return { store, drop: () => store.close() };
        },
      },
    ];
    if (options.databaseUrl !== undefined) {
      const databaseUrl = options.databaseUrl;
      stores.push({
        name: "PostgreSQL",
        open: async (run) => {
          const schema = `knowledge_eval_${process.pid}_${Date.now()}_${run}`;
          const store = new PostgresKnowledgeStore({
            connectionString: databaseUrl,
            schema,
            maxConnections: 2,
          });
          return {
            store,
            drop: async () => {
              await store.close();
              const pg = await import("pg");
              const client = new pg.default.Client({ connectionString: databaseUrl });
              await client.connect();
              await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
              await client.end();
            },
          };
        },
      });
    }
    let run = 0;
    for (const { name, open } of stores) {
      for (const mode of modes) {
        run += 1;
        const opened = await open(run);
        try {
          const store =
            mode === "full-text"
              ? opened.store
              : new HybridKnowledgeStore(
                  opened.store,
                  embedder(mode === "hybrid (echo)" ? "echo" : "openai:concepts-1"),
                );
          await ingestAll(store, set, ingestRoot);
          rows.push({ store: name, mode, ...(await score(store, set.questions)) });
        } finally {
          await opened.drop();
        }
      }
    }
  } finally {
    await upstreams.close();
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  }
  return rows;
}

async function ingestAll(store: KnowledgeStore, set: EvalSet, ingestRoot: string): Promise<void> {
  // The real ingest: type detection, extraction in worker threads, chunking, writing.
  const processor = createIngestDocumentProcessor({
    store,
    ingestRoot,
    maxBytes: 10 * 1_048_576,
    fetchTimeoutMs: 10_000,
    // Small chunks, about a paragraph each, so a hit names the passage and not half a document.
    chunkSize: 160,
    chunkOverlap: 20,
    maxPages: 100,
    maxUnpackedBytes: 50 * 1_048_576,
    extractTimeoutMs: 60_000,
  });
  for (const [index, document] of set.documents.entries()) {
    await processor({
      id: `eval-${index}`,
      type: "ingest-document",
      payload: { source: document.name },
      source: document.name,
      attempt: 1,
      signal: new AbortController().signal,
      reportProgress: async () => {},
      onFinished: () => {},
    });
  }
}

async function score(store: KnowledgeStore, questions: readonly EvalQuestion[]) {
  const ranks: { rank: number | undefined; kind: EvalQuestion["kind"] }[] = [];
  for (const question of questions) {
    const hits = await store.search(question.question, { limit: 5 });
    const position = hits.findIndex(
      (hit) => hit.source === question.document && hit.text.includes(question.answer),
    );
    ranks.push({ rank: position === -1 ? undefined : position + 1, kind: question.kind });
  }
  const figures = (subset: typeof ranks) => ({
    recallAt1: subset.filter((entry) => entry.rank === 1).length / subset.length,
    recallAt5: subset.filter((entry) => entry.rank !== undefined).length / subset.length,
    mrr:
      subset.reduce((sum, entry) => sum + (entry.rank === undefined ? 0 : 1 / entry.rank), 0) / subset.length,
  });
  return {
    questions: questions.length,
    ...figures(ranks),
    paraphrases: figures(ranks.filter((entry) => entry.kind === "paraphrase")),
  };
}
