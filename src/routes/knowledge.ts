import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import { allowedCollections, checkCollectionAllowed } from "../access/collection-access.ts";
import { ownerFilterFor } from "../access/ownership.ts";
import { ServiceError } from "../errors/service-error.ts";
import { documentSummary } from "../knowledge/document-summary.ts";
import {
  COLLECTION_PATTERN,
  DEFAULT_COLLECTION,
  type KnowledgeStore,
  type StoredDocument,
} from "../knowledge/knowledge-store.ts";
import { knowledgeStoreUnavailable } from "../knowledge/knowledge-store-unavailable.ts";
import { PRINTABLE_FORMAT } from "../printable-text.ts";

export type KnowledgeRoutesOptions = { knowledgeStore: KnowledgeStore };

/** Longest search query; a question, not a document. */
export const MAX_QUERY_CHARS = 1000;

const Collection = Type.String({
  pattern: COLLECTION_PATTERN,
  description: `a collection's name (letters, digits, \`.\`, \`_\`, \`-\`)`,
});

const SearchResult = Type.Object({
  document_id: Type.String(),
  source: Type.String(),
  title: Type.Optional(Type.String({ description: "the document's own title (an HTML page's, a PDF's)" })),
  chunk_index: Type.Integer({ minimum: 0 }),
  page: Type.Optional(Type.Integer({ minimum: 1, description: "the page the chunk comes from (PDF)" })),
  text: Type.String({ description: "the whole chunk" }),
  snippet: Type.String({ description: "the best-matching passage, matched words between `**`" }),
  score: Type.Number({ description: "higher is more relevant; comparable within one response" }),
});

const DocumentBody = Type.Object({
  document_id: Type.String(),
  collection: Type.String(),
  source: Type.String(),
  title: Type.Optional(Type.String()),
  content_type: Type.String(),
  bytes: Type.Integer(),
  characters: Type.Integer(),
  chunks: Type.Integer(),
  state: Type.Union([Type.Literal("writing"), Type.Literal("ready")], {
    description: "`writing` while its job stores it; only `ready` documents are searched",
  }),
  job_id: Type.String(),
  created_at: Type.String({ format: "date-time" }),
  owner: Type.Union([Type.String(), Type.Null()], {
    description: "the id of the virtual key whose ingest stored it; null for no owner",
  }),
});

function documentBody(document: StoredDocument) {
  return {
    ...documentSummary(document),
    state: document.state,
    job_id: document.jobId,
    created_at: new Date(document.createdAt).toISOString(),
    owner: document.owner ?? null,
  };
}

/** `GET /knowledge/search`, `GET /knowledge/documents`, `DELETE /knowledge/documents/{id}`. */
export const knowledgeRoutes: FastifyPluginAsyncTypebox<KnowledgeRoutesOptions> = async (app, options) => {
  const store = options.knowledgeStore;

  app.get(
    "/knowledge/search",
    {
      schema: {
        tags: ["knowledge"],
        summary: "Full-text search of the ingested documents of one collection",
        description:
          "Chunks of the collection (`default` unless named) holding any of the query's words, best first. Query syntax is not interpreted: quotes and operators are plain words. A virtual key searches its own documents only (the admin key, everyone's); a key limited to `collections` gets 403 COLLECTION_NOT_ALLOWED for any other.",
        querystring: Type.Object({
          q: Type.String({ minLength: 1, maxLength: MAX_QUERY_CHARS }),
          limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
          collection: Type.String({ ...Collection, default: DEFAULT_COLLECTION }),
        }),
        response: {
          200: Type.Object({ query: Type.String(), results: Type.Array(SearchResult) }),
        },
      },
    },
    async (request) => {
      const { q: query, limit, collection } = request.query;
      if (query.trim() === "") {
        throw new ServiceError({ code: "VALIDATION_FAILED", message: "querystring.q is blank", param: "q" });
      }
      checkCollectionAllowed(request.principal, collection);
      const hits = await store
        .search(query, { limit, collection, owner: ownerFilterFor(request.principal) })
        .catch((error: unknown) => {
          throw knowledgeStoreUnavailable(error);
        });
      return {
        query,
        results: hits.map((hit) => ({
          document_id: hit.documentId,
          source: hit.source,
          ...(hit.title === undefined ? {} : { title: hit.title }),
          chunk_index: hit.chunkIndex,
          ...(hit.page === undefined ? {} : { page: hit.page }),
          text: hit.text,
          snippet: hit.snippet,
          score: hit.score,
        })),
      };
    },
  );

  app.get(
    "/knowledge/documents",
    {
      schema: {
        tags: ["knowledge"],
        summary: "The stored documents, newest first",
        description:
          "A virtual key lists its own documents only (the admin key, everyone's). A key limited to `collections` gets 403 COLLECTION_NOT_ALLOWED for any other `collection`, and without one lists its allowed collections' documents.",
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          offset: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
          collection: Type.Optional({
            ...Collection,
            description: "only this collection's; every one's when absent",
          }),
        }),
        response: {
          200: Type.Object({
            documents: Type.Array(DocumentBody),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const { limit, offset, collection } = request.query;
      if (collection !== undefined) checkCollectionAllowed(request.principal, collection);
      const page = await store
        .listDocuments({
          limit,
          offset,
          collection,
          collections: allowedCollections(request.principal),
          owner: ownerFilterFor(request.principal),
        })
        .catch((error: unknown) => {
          throw knowledgeStoreUnavailable(error);
        });
      return { documents: page.documents.map(documentBody), total: page.total, limit, offset };
    },
  );

  app.delete(
    "/knowledge/documents/:id",
    {
      schema: {
        tags: ["knowledge"],
        summary: "Delete a document and its chunks",
        description:
          "Another virtual key's document is 404, as if it did not exist; the admin key may delete any.",
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, format: PRINTABLE_FORMAT }) }),
        response: { 204: Type.Null({ description: "deleted; no body" }) },
      },
    },
    async (request, reply) => {
      const deleted = await store
        .deleteDocument(request.params.id, { owner: ownerFilterFor(request.principal) })
        .catch((error: unknown) => {
          throw knowledgeStoreUnavailable(error);
        });
      if (!deleted) {
        throw new ServiceError({
          code: "NOT_FOUND",
          message: `No document has the id ${request.params.id}.`,
        });
      }
      return reply.code(204).send(null);
    },
  );
};
