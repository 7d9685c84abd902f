import { BUNDLED_PRICES, type ModelPrice } from "./model-prices.ts";

export type PricedUsage = Readonly<{ inputTokens: number; outputTokens: number; cachedInputTokens: number }>;

export type PriceList = {
  /** The price of a model by its name (`openai:gpt-4o-mini`, `echo`) and provider id, if one is known. */
  priceOf(name: string, modelId: string): ModelPrice | undefined;
  /** What the usage cost, in billionths of a US dollar (0 for a model without a price). */
  costOf(name: string, modelId: string, usage: PricedUsage): number;
};

/**
 * Prices from the overrides (the models file's per-model `price`, or `MODEL_PRICES`), named by
 * the model's name or its provider id, then the bundled table by the id's longest prefix.
 */
export function createPriceList(overrides: Readonly<Record<string, ModelPrice>> = {}): PriceList {
  const bundled = Object.keys(BUNDLED_PRICES).sort((left, right) => right.length - left.length);
  const priceOf = (name: string, modelId: string): ModelPrice | undefined => {
    const own = overrides[name] ?? overrides[modelId];
    if (own !== undefined) return own;
    const family = bundled.find((prefix) => modelId === prefix || modelId.startsWith(`${prefix}-`));
    return family === undefined ? undefined : BUNDLED_PRICES[family];
  };
  return {
    priceOf,
    costOf(name, modelId, usage) {
      const price = priceOf(name, modelId);
      if (price === undefined) return 0;
      const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
      // Dollars per million tokens are thousandths of a nano-dollar per token.
      return Math.round(
        (usage.inputTokens - cached) * price.input_per_mtok * 1000 +
          cached * (price.cached_input_per_mtok ?? price.input_per_mtok) * 1000 +
          usage.outputTokens * price.output_per_mtok * 1000,
      );
    },
  };
}
