import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

/**
 * The house's rules, read off the code's own imports: which folder may import which, no import
 * cycles, and routes/ holding only route plugins. README "Layout" says the same in prose.
 */

const SOURCE_ROOT = resolve(import.meta.dirname, "../src");

type SourceImport = { target: string; typeOnly: boolean };

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The project files a file imports (relative specifiers only), each marked type-only or not. */
function importsOf(file: string, text: string): SourceImport[] {
  const found: SourceImport[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?([^;=(]*?)\s*from\s+"(\.[^"]+\.ts)"/gms;
  for (const match of text.matchAll(pattern)) {
    const [, , typeKeyword, clause, specifier] = match;
    // `import { type A, type B }` is as type-only as `import type { A, B }`.
    const names = clause
      .replace(/^\{|\}$/g, "")
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    const allTypes =
      clause.startsWith("{") && names.length > 0 && names.every((name) => name.startsWith("type "));
    found.push({
      target: resolve(dirname(file), specifier),
      typeOnly: typeKeyword !== undefined || allTypes,
    });
  }
  return found;
}

const files = sourceFiles(SOURCE_ROOT);
const graph = new Map(files.map((file) => [file, importsOf(file, readFileSync(file, "utf8"))]));
const folderOf = (file: string) => relative(SOURCE_ROOT, file).split("/")[0];

test("the source tree is read: files and imports were found", () => {
  assert.ok(files.length > 50, `found ${files.length} files`);
  assert.ok([...graph.values()].flat().length > 100);
  const dangling = [...graph.values()].flat().filter((edge) => !files.includes(edge.target));
  assert.deepEqual(dangling, [], "every relative import points at a source file");
});

test("no file imports another in a cycle (type-only imports aside)", () => {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, "visiting");
    path.push(file);
    for (const edge of graph.get(file) ?? []) {
      if (edge.typeOnly) continue;
      const seen = state.get(edge.target);
      if (seen === "visiting")
        cycles.push(path.slice(path.indexOf(edge.target)).map((f) => relative(SOURCE_ROOT, f)));
      else if (seen === undefined) visit(edge.target);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

/** Folder -> folders it must never import from, type imports included. */
const FORBIDDEN: Record<string, readonly string[]> = {
  errors: ["http", "routes", "chat", "embeddings", "llm", "jobs", "knowledge", "observability", "storage"],
  storage: ["http", "routes", "chat", "embeddings", "llm", "jobs", "knowledge", "observability"],
  llm: ["http", "routes", "chat", "embeddings", "jobs", "knowledge", "observability", "catalog", "routing"],
  // The models file is data: read and validated, knowing nothing of how it is served.
  catalog: ["http", "routes", "chat", "embeddings", "jobs", "knowledge", "observability", "routing"],
  // Routing knows models and deployments, not HTTP or the endpoints that use it; metrics reach it as an observer.
  routing: ["http", "routes", "chat", "embeddings", "jobs", "knowledge", "observability"],
  knowledge: ["http", "routes", "chat", "embeddings", "jobs", "observability"],
  // Keys, limits, budgets and the ledger know nothing of HTTP or of what calls them.
  access: ["http", "routes", "chat", "embeddings", "jobs", "knowledge", "llm", "observability"],
  jobs: ["http", "routes", "chat", "embeddings", "observability"],
  observability: ["routes", "chat", "embeddings", "jobs", "knowledge"],
  http: ["routes", "chat", "embeddings", "observability", "jobs", "knowledge", "llm"],
  chat: ["routes", "embeddings", "jobs", "observability"],
  // The embeddings use case stands beside chat: it shares http/'s plumbing and llm/, not chat/.
  embeddings: ["routes", "chat", "jobs", "knowledge", "observability"],
};

test("imports point inward: llm/, knowledge/ and jobs/ know nothing of HTTP, knowledge/ nothing of jobs/", () => {
  const violations: string[] = [];
  for (const [file, edges] of graph) {
    const forbidden = FORBIDDEN[folderOf(file)] ?? [];
    for (const edge of edges) {
      if (forbidden.includes(folderOf(edge.target))) {
        violations.push(`${relative(SOURCE_ROOT, file)} -> ${relative(SOURCE_ROOT, edge.target)}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test("every file in routes/ registers routes", () => {
  const routeFiles = files.filter((file) => folderOf(file) === "routes");
  assert.ok(routeFiles.length > 0);
  const withoutRoutes = routeFiles.filter(
    (file) => !/\bapp\.(get|post|put|patch|delete|route)\(/.test(readFileSync(file, "utf8")),
  );
  assert.deepEqual(
    withoutRoutes.map((file) => relative(SOURCE_ROOT, file)),
    [],
  );
});
