import { randomBytes } from "node:crypto";
import { type FastifyPluginAsyncTypebox, type Static, Type } from "@fastify/type-provider-typebox";
import type { AccessStore } from "../access/access-store.ts";
import { digestKey, newKeySecret } from "../access/key-digest.ts";
import { isKeyUsable, type VirtualKey, type VirtualKeyChanges } from "../access/virtual-key.ts";
import { ServiceError } from "../errors/service-error.ts";
import { rejectUnknownFields } from "../http/reject-unknown-fields.ts";
import { COLLECTION_PATTERN } from "../knowledge/knowledge-store.ts";
import { PRINTABLE_FORMAT } from "../printable-text.ts";

export type AdminKeysRoutesOptions = {
  store: AccessStore;
  /** Called after every change, so this replica sees it at once (the others within their cache's TTL). */
  changed: () => void;
  now?: () => number;
};

const BudgetPeriod = Type.Union([Type.Literal("day"), Type.Literal("month"), Type.Literal("total")], {
  description: "what `budget_usd` is counted over (UTC): a day, a calendar month, or the key's whole life",
});
const Limit = (description: string) => Type.Integer({ minimum: 1, maximum: 1_000_000_000, description });

const KEY_FIELDS = {
  name: Type.String({ minLength: 1, maxLength: 200, format: PRINTABLE_FORMAT }),
  models: Type.Array(Type.String({ minLength: 1, maxLength: 200, format: PRINTABLE_FORMAT }), {
    maxItems: 1000,
    description: "the only models this key may call (`echo`, `openai:gpt-4o-mini`); any other is 403",
  }),
  collections: Type.Array(Type.String({ pattern: COLLECTION_PATTERN }), {
    maxItems: 1000,
    description:
      "the only knowledge collections this key may ingest into, search, list and ground chat on (`default` included only when named); any other is 403",
  }),
  rpm: Limit("requests per minute"),
  tpm: Limit("tokens per minute: the prompt estimate plus `max_tokens` reserved, settled with real usage"),
  max_parallel: Limit("model calls in progress at once"),
  budget_usd: Type.Number({
    minimum: 0,
    maximum: 1e9,
    description: "spend in `budget_period` before 429 insufficient_quota",
  }),
  budget_period: BudgetPeriod,
  expires_at: Type.String({ format: "date-time", description: "after this the key is refused" }),
  metadata: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
    description: "kept and shown as given",
  }),
};

const CreateKeyBody = Type.Object({
  name: KEY_FIELDS.name,
  models: Type.Optional(KEY_FIELDS.models),
  collections: Type.Optional(KEY_FIELDS.collections),
  rpm: Type.Optional(KEY_FIELDS.rpm),
  tpm: Type.Optional(KEY_FIELDS.tpm),
  max_parallel: Type.Optional(KEY_FIELDS.max_parallel),
  budget_usd: Type.Optional(KEY_FIELDS.budget_usd),
  budget_period: Type.Optional(BudgetPeriod),
  expires_at: Type.Optional(KEY_FIELDS.expires_at),
  metadata: Type.Optional(KEY_FIELDS.metadata),
});

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Optional(Type.Union([schema, Type.Null()]));

/** Every field may change; `null` clears a limit (or the models or collections list, the expiry, the metadata). */
const UpdateKeyBody = Type.Object({
  name: Type.Optional(KEY_FIELDS.name),
  models: nullable(KEY_FIELDS.models),
  collections: nullable(KEY_FIELDS.collections),
  rpm: nullable(KEY_FIELDS.rpm),
  tpm: nullable(KEY_FIELDS.tpm),
  max_parallel: nullable(KEY_FIELDS.max_parallel),
  budget_usd: nullable(KEY_FIELDS.budget_usd),
  budget_period: Type.Optional(BudgetPeriod),
  expires_at: nullable(KEY_FIELDS.expires_at),
  metadata: nullable(KEY_FIELDS.metadata),
});

const KeyBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal("active"), Type.Literal("revoked"), Type.Literal("expired")]),
  models: Type.Union([Type.Array(Type.String()), Type.Null()]),
  collections: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: "the only knowledge collections the key may use; null for any",
  }),
  rpm: Type.Union([Type.Integer(), Type.Null()]),
  tpm: Type.Union([Type.Integer(), Type.Null()]),
  max_parallel: Type.Union([Type.Integer(), Type.Null()]),
  budget_usd: Type.Union([Type.Number(), Type.Null()]),
  budget_period: BudgetPeriod,
  expires_at: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
  revoked_at: Type.Union([Type.String(), Type.Null()]),
});

const CreatedKeyBody = Type.Intersect([
  KeyBody,
  Type.Object({
    key: Type.String({ description: "the secret: shown this once, stored only as its SHA-256" }),
  }),
]);

const KeyIdParams = Type.Object({ id: Type.String({ maxLength: 100, format: PRINTABLE_FORMAT }) });
const AdminError = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), request_id: Type.String() }),
});

const iso = (milliseconds: number | null) =>
  milliseconds === null ? null : new Date(milliseconds).toISOString();

function keyBody(key: VirtualKey, now: number): Static<typeof KeyBody> {
  return {
    id: key.id,
    name: key.name,
    status: key.revokedAt !== null ? "revoked" : isKeyUsable(key, now) ? "active" : "expired",
    models: key.models === null ? null : [...key.models],
    collections: key.collections === null ? null : [...key.collections],
    rpm: key.rpm,
    tpm: key.tpm,
    max_parallel: key.maxParallel,
    budget_usd: key.budgetUsd,
    budget_period: key.budgetPeriod,
    expires_at: iso(key.expiresAt),
    metadata: key.metadata === null ? null : { ...key.metadata },
    created_at: new Date(key.createdAt).toISOString(),
    updated_at: new Date(key.updatedAt).toISOString(),
    revoked_at: iso(key.revokedAt),
  };
}

function notFound(id: string): ServiceError {
  return new ServiceError({ code: "NOT_FOUND", message: `No key ${id.slice(0, 100)}.` });
}

/** `POST/GET /admin/keys`, `GET/PATCH/DELETE /admin/keys/{id}`: virtual keys, behind `ADMIN_API_KEY`. */
export const adminKeysRoutes: FastifyPluginAsyncTypebox<AdminKeysRoutesOptions> = async (app, options) => {
  const { store, changed } = options;
  const now = options.now ?? Date.now;

  app.post(
    "/admin/keys",
    {
      schema: {
        tags: ["admin"],
        summary: "Create a virtual key; its secret is in this answer only",
        body: CreateKeyBody,
        response: { 201: CreatedKeyBody },
      },
      preValidation: rejectUnknownFields(Object.keys(CreateKeyBody.properties)),
    },
    async (request, reply) => {
      const body = request.body;
      const secret = newKeySecret();
      const createdAt = now();
      const key: VirtualKey = {
        id: `key_${randomBytes(12).toString("hex")}`,
        name: body.name,
        digest: digestKey(secret),
        models: body.models ?? null,
        collections: body.collections ?? null,
        rpm: body.rpm ?? null,
        tpm: body.tpm ?? null,
        maxParallel: body.max_parallel ?? null,
        budgetUsd: body.budget_usd ?? null,
        budgetPeriod: body.budget_period ?? "total",
        expiresAt: body.expires_at === undefined ? null : Date.parse(body.expires_at),
        metadata: body.metadata ?? null,
        createdAt,
        updatedAt: createdAt,
        revokedAt: null,
      };
      await store.createKey(key);
      changed();
      request.log.info({ key_id: key.id }, "virtual key created");
      return reply.code(201).send({ ...keyBody(key, createdAt), key: secret });
    },
  );

  app.get(
    "/admin/keys",
    {
      schema: {
        tags: ["admin"],
        summary: "Every virtual key, without secrets",
        response: { 200: Type.Object({ object: Type.Literal("list"), data: Type.Array(KeyBody) }) },
      },
    },
    async () => {
      const at = now();
      return { object: "list" as const, data: (await store.listKeys()).map((key) => keyBody(key, at)) };
    },
  );

  app.get(
    "/admin/keys/:id",
    {
      schema: {
        tags: ["admin"],
        summary: "One virtual key, without its secret",
        params: KeyIdParams,
        response: { 200: KeyBody, 404: AdminError },
      },
    },
    async (request) => {
      const key = await store.getKey(request.params.id);
      if (key === undefined) throw notFound(request.params.id);
      return keyBody(key, now());
    },
  );

  app.patch(
    "/admin/keys/:id",
    {
      schema: {
        tags: ["admin"],
        summary: "Change a key's name, models, collections, limits, budget, expiry or metadata",
        params: KeyIdParams,
        body: UpdateKeyBody,
        response: { 200: KeyBody, 404: AdminError },
      },
      preValidation: rejectUnknownFields(Object.keys(UpdateKeyBody.properties)),
    },
    async (request) => {
      const body = request.body;
      const changes: VirtualKeyChanges = {
        name: body.name,
        models: body.models,
        collections: body.collections,
        rpm: body.rpm,
        tpm: body.tpm,
        maxParallel: body.max_parallel,
        budgetUsd: body.budget_usd,
        budgetPeriod: body.budget_period,
        expiresAt:
          body.expires_at === undefined || body.expires_at === null
            ? body.expires_at
            : Date.parse(body.expires_at),
        metadata: body.metadata,
      };
      const key = await store.updateKey(request.params.id, changes, now());
      if (key === undefined) throw notFound(request.params.id);
      changed();
      request.log.info({ key_id: key.id }, "virtual key changed");
      return keyBody(key, now());
    },
  );

  app.delete(
    "/admin/keys/:id",
    {
      schema: {
        tags: ["admin"],
        summary: "Revoke a key: refused on every replica within 2 s",
        params: KeyIdParams,
        response: { 200: KeyBody, 404: AdminError },
      },
    },
    async (request) => {
      if (!(await store.revokeKey(request.params.id, now()))) throw notFound(request.params.id);
      changed();
      request.log.info({ key_id: request.params.id }, "virtual key revoked");
      const key = await store.getKey(request.params.id);
      if (key === undefined) throw notFound(request.params.id);
      return keyBody(key, now());
    },
  );
};
