import { type FastifyPluginAsyncTypebox, Type } from "@fastify/type-provider-typebox";
import type { AccessStore } from "../access/access-store.ts";
import { NANO_USD_PER_USD, type UsageGrouping } from "../access/usage-row.ts";
import { ServiceError } from "../errors/service-error.ts";
import { PRINTABLE_FORMAT } from "../printable-text.ts";

export type AdminUsageRoutesOptions = {
  store: Pick<AccessStore, "queryUsage">;
  /** Writes this replica's buffered ledger rows first, so what it just served is counted. */
  flush: () => Promise<void>;
};

const UsageQuery = Type.Object({
  key_id: Type.Optional(Type.String({ maxLength: 100, format: PRINTABLE_FORMAT })),
  model: Type.Optional(Type.String({ maxLength: 200, format: PRINTABLE_FORMAT })),
  from: Type.Optional(
    Type.String({ maxLength: 40, description: "inclusive: an ISO date or date-time (UTC)" }),
  ),
  to: Type.Optional(Type.String({ maxLength: 40, description: "exclusive: an ISO date or date-time (UTC)" })),
  group_by: Type.Optional(Type.Union([Type.Literal("day"), Type.Literal("model"), Type.Literal("key")])),
});

const UsageTotalBody = Type.Object({
  group: Type.Union([Type.String(), Type.Null()], {
    description:
      "the day, model or key id of the group; null for the whole range (or calls without a virtual key)",
  }),
  requests: Type.Integer(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cached_input_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
  cost_usd: Type.Number(),
});

function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) {
    throw new ServiceError({
      code: "VALIDATION_FAILED",
      message: `querystring.${field} must be an ISO date or date-time, e.g. 2026-12-01 or 2026-12-01T10:00:00Z`,
      param: field,
    });
  }
  return time;
}

/** `GET /admin/usage`: requests, tokens and cost from the usage ledger, behind `ADMIN_API_KEY`. */
export const adminUsageRoutes: FastifyPluginAsyncTypebox<AdminUsageRoutesOptions> = async (app, options) => {
  app.get(
    "/admin/usage",
    {
      schema: {
        tags: ["admin"],
        summary: "Requests, tokens and cost of the model calls, filtered and grouped",
        querystring: UsageQuery,
        response: {
          200: Type.Object({
            object: Type.Literal("list"),
            group_by: Type.Union([Type.String(), Type.Null()]),
            data: Type.Array(UsageTotalBody),
          }),
        },
      },
    },
    async (request) => {
      const query = request.query;
      const from = parseTime("from", query.from);
      const to = parseTime("to", query.to);
      await options.flush();
      const totals = await options.store.queryUsage({
        keyId: query.key_id,
        model: query.model,
        from,
        to,
        groupBy: query.group_by as UsageGrouping | undefined,
      });
      return {
        object: "list" as const,
        group_by: query.group_by ?? null,
        data: totals.map((total) => ({
          group: total.group,
          requests: total.requests,
          input_tokens: total.inputTokens,
          output_tokens: total.outputTokens,
          cached_input_tokens: total.cachedInputTokens,
          total_tokens: total.inputTokens + total.outputTokens,
          cost_usd: total.costNanoUsd / NANO_USD_PER_USD,
        })),
      };
    },
  );
};
