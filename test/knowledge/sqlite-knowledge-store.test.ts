import { describeKnowledgeStoreConformance } from "../support/knowledge-store-conformance.ts";
import { knowledgeStores } from "../support/knowledge-stores.ts";

describeKnowledgeStoreConformance("SQLite FTS5", knowledgeStores.SQLite);
