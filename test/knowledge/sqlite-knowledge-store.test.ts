import { knowledgeStores } from "../support/knowledge-stores.ts";
import { describeKnowledgeStoreConformance } from "./knowledge-store-conformance.ts";

describeKnowledgeStoreConformance("SQLite FTS5", knowledgeStores.SQLite);
