/** A model's price in US dollars per million tokens, as the models file writes it. */
export type ModelPrice = Readonly<{
  input_per_mtok: number;
  output_per_mtok: number;
  /** Input tokens served from the provider's prompt cache; the input price when not given. */
  cached_input_per_mtok?: number;
}>;

/**
 * List prices of well-known models (USD per million tokens, from the vendors' price pages of
 * late 2025), matched on the provider's model id by its longest prefix so that dated snapshots
 * (`gpt-4o-2024-08-06`) find their family. The models file's `price` (or `MODEL_PRICES`) wins.
 */
export const BUNDLED_PRICES: Readonly<Record<string, ModelPrice>> = {
  echo: { input_per_mtok: 0, output_per_mtok: 0, cached_input_per_mtok: 0 },
  "gpt-5": { input_per_mtok: 1.25, output_per_mtok: 10, cached_input_per_mtok: 0.125 },
  "gpt-5-mini": { input_per_mtok: 0.25, output_per_mtok: 2, cached_input_per_mtok: 0.025 },
  "gpt-5-nano": { input_per_mtok: 0.05, output_per_mtok: 0.4, cached_input_per_mtok: 0.005 },
  "gpt-4.1": { input_per_mtok: 2, output_per_mtok: 8, cached_input_per_mtok: 0.5 },
  "gpt-4.1-mini": { input_per_mtok: 0.4, output_per_mtok: 1.6, cached_input_per_mtok: 0.1 },
  "gpt-4.1-nano": { input_per_mtok: 0.1, output_per_mtok: 0.4, cached_input_per_mtok: 0.025 },
  "gpt-4o": { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 },
  "gpt-4o-mini": { input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075 },
  o3: { input_per_mtok: 2, output_per_mtok: 8, cached_input_per_mtok: 0.5 },
  "o4-mini": { input_per_mtok: 1.1, output_per_mtok: 4.4, cached_input_per_mtok: 0.275 },
  "text-embedding-3-small": { input_per_mtok: 0.02, output_per_mtok: 0 },
  "text-embedding-3-large": { input_per_mtok: 0.13, output_per_mtok: 0 },
  "claude-opus-4-1": { input_per_mtok: 15, output_per_mtok: 75, cached_input_per_mtok: 1.5 },
  "claude-sonnet-4-5": { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 },
  "claude-sonnet-4": { input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.3 },
  "claude-haiku-4-5": { input_per_mtok: 1, output_per_mtok: 5, cached_input_per_mtok: 0.1 },
  "claude-3-5-haiku": { input_per_mtok: 0.8, output_per_mtok: 4, cached_input_per_mtok: 0.08 },
};
