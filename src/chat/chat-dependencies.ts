import type { Config } from "../config.ts";
import type { ModelCallAdmission } from "../http/model-call-admission.ts";
import type { StreamSlots } from "../http/stream-slots.ts";
import type { KnowledgeStore } from "../knowledge/knowledge-store.ts";
import type { LlmCallObserver } from "../llm/llm-call-observer.ts";
import type { ModelRouter } from "../routing/model-router.ts";

/** What the chat layer needs from the services. */
export type ChatDependencies = Readonly<{
  config: Config;
  /** Which deployments serve a model name, and their health. */
  router: ModelRouter;
  llmCallObserver: LlmCallObserver;
  streamSlots: StreamSlots;
  /** What `knowledge` grounds a reply on. */
  knowledgeStore: KnowledgeStore;
  /** Keys' models, rate limits and budgets before each call, settled with its usage; none when absent. */
  admission?: ModelCallAdmission;
}>;
