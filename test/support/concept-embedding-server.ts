// A local server that speaks OpenAI's POST /v1/embeddings with a deterministic embedding that knows
// a few synonyms: words of one group share a dimension, so "automobile" lands near "car" while
// sharing no letters with it. Every other word gets a dimension of its own by hash. It stands in
// for a semantic model in the tests and the evaluation, with nothing downloaded.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export const CONCEPT_DIMENSIONS = 512;

/** Groups of words that mean the same here; the group's index is its dimension. */
export const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ["car", "cars", "automobile", "automobiles", "vehicle", "vehicles", "auto"],
  ["repair", "repairs", "fix", "fixes", "fixing", "fixed", "mend", "mending", "servicing"],
  ["holiday", "holidays", "vacation", "vacations", "leave", "time-off"],
  ["salary", "salaries", "pay", "paid", "wage", "wages", "compensation", "payroll"],
  ["manager", "managers", "boss", "supervisor", "lead"],
  ["doctor", "doctors", "physician", "gp", "clinician"],
  ["sick", "ill", "illness", "unwell", "sickness"],
  ["bicycle", "bicycles", "bike", "bikes", "cycle", "cycling"],
  ["storage", "store", "stored", "keep", "kept", "shelter", "shed"],
  ["laptop", "laptops", "computer", "computers", "notebook", "pc"],
  ["broken", "damaged", "faulty", "cracked", "defective"],
  ["replace", "replacement", "swap", "exchange", "new"],
  ["office", "offices", "workplace", "building", "premises"],
  ["open", "opens", "opening", "start", "starts", "begin"],
  ["morning", "dawn", "am", "early"],
  ["travel", "trip", "trips", "journey", "journeys", "business-travel"],
  ["refund", "refunded", "reimburse", "reimbursed", "reimbursement", "expenses", "expense"],
  ["password", "passwords", "credentials", "login", "passphrase"],
  ["forgot", "forgotten", "lost", "reset"],
  ["pet", "pets", "dog", "dogs", "cat", "cats", "animal", "animals"],
  ["allowed", "permitted", "welcome", "may", "can"],
  ["parking", "park", "garage", "carpark"],
  ["quiet", "silent", "silence", "noise-free", "hush"],
  ["food", "lunch", "meal", "meals", "canteen", "eat", "eating"],
];

const STOP_WORDS = new Set(
  "a an and are as at be by do does for from how i if in is it my of on or the to was what when where which who why with you your our we".split(
    " ",
  ),
);

const GROUP_OF = new Map<string, number>();
for (const [index, group] of SYNONYM_GROUPS.entries()) for (const word of group) GROUP_OF.set(word, index);

/** The embedding of a text: one count per dimension, words of a synonym group adding to its dimension. */
export function conceptEmbedding(text: string): number[] {
  const vector = new Array<number>(CONCEPT_DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9-]+/g) ?? []) {
    if (STOP_WORDS.has(word)) continue;
    const group = GROUP_OF.get(word);
    const dimension =
      group ??
      SYNONYM_GROUPS.length +
        (createHash("sha1").update(word).digest().readUInt32LE(0) %
          (CONCEPT_DIMENSIONS - SYNONYM_GROUPS.length));
    vector[dimension] += 1;
  }
  return vector;
}

export type ConceptEmbeddingServer = {
  baseUrl: string;
  /** The number of inputs of each embeddings request, in order. */
  batches: number[];
  /** The next `count` embeddings requests answer 503 (a retry test). */
  failNext(count: number): void;
  close(): Promise<void>;
};

export async function startConceptEmbeddingServer(): Promise<ConceptEmbeddingServer> {
  const batches: number[] = [];
  let failures = 0;
  const server = http.createServer((request, response) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      raw += chunk;
    });
    request.on("end", () => {
      if (request.method !== "POST" || !request.url?.endsWith("/embeddings")) {
        response.writeHead(404).end();
        return;
      }
      if (failures > 0) {
        failures -= 1;
        response.writeHead(503, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: "overloaded", type: "server_error" } }));
        return;
      }
      const body = JSON.parse(raw) as { model: string; input: string | string[] };
      const inputs = typeof body.input === "string" ? [body.input] : body.input;
      batches.push(inputs.length);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          object: "list",
          data: inputs.map((input, index) => ({
            object: "embedding",
            index,
            embedding: conceptEmbedding(input),
          })),
          model: body.model,
          usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    batches,
    failNext(count) {
      failures = count;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
