import type { KnowledgeStore } from "../../src/knowledge/knowledge-store.ts";

export type GatedKnowledgeStore = {
  /** The store to give a job worker: its chunk writes wait until `open` is called. */
  store: KnowledgeStore;
  /** Whether an ingest job has reached its first chunk write (it is running, at 35 %). */
  readonly reached: boolean;
  /** Chunk writes that went through after the gate opened. */
  readonly written: number;
  open(): void;
};

/**
 * A real knowledge store whose `appendChunks` waits at a gate the test opens, so an ingest job
 * stays running for exactly as long as the test needs (to cancel it, or to stop its worker),
 * with no timing to guess. Every other call goes straight through.
 */
export function gatedKnowledgeStore(inner: KnowledgeStore): GatedKnowledgeStore {
  const gate = Promise.withResolvers<void>();
  let reached = false;
  let written = 0;
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === "appendChunks") {
        return async (...args: Parameters<KnowledgeStore["appendChunks"]>) => {
          reached = true;
          await gate.promise;
          await target.appendChunks(...args);
          written += 1;
        };
      }
      const value = Reflect.get(target, property, target);
      // Bound to the store itself: its methods use private fields, which a proxy does not have.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    store,
    get reached() {
      return reached;
    },
    get written() {
      return written;
    },
    open: () => gate.resolve(),
  };
}
