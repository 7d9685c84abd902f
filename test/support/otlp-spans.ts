export type OtlpValue = {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  arrayValue?: { values: OtlpValue[] };
};

export type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: OtlpValue }[];
};

/** The spans of every OTLP/HTTP JSON export a collector received, given the request bodies. */
export function exportedSpans(bodies: readonly string[]): OtlpSpan[] {
  return bodies.flatMap((body) =>
    (JSON.parse(body).resourceSpans as { scopeSpans: { spans: OtlpSpan[] }[] }[]).flatMap((resource) =>
      resource.scopeSpans.flatMap((scope) => scope.spans),
    ),
  );
}

/** A span attribute's value as a plain string, number, boolean or string list. */
export function spanAttribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  if (value === undefined) return undefined;
  if (value.arrayValue) return value.arrayValue.values.map((item) => item.stringValue);
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.boolValue;
}
