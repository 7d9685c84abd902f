/** What the observer needs from an embeddings answer. */
export type EmbeddingsSummary = {
  /** The model the upstream says answered, when it says. */
  responseModel: string | undefined;
  /** `usage.prompt_tokens`, when the upstream reports it. */
  inputTokens: number | undefined;
};

const MODEL_VALUE = /"model"\s*:\s*("(?:[^"\\]|\\.)*")/y;

/**
 * `model` and `usage` of an OpenAI embeddings answer, found without parsing it: the answer is
 * mostly floats (megabytes for a large batch), and its `data` items hold only `object`, `index`
 * and numbers or base64 text, so the first `"model"` and the last `"usage"` key are the top-level
 * ones wherever the upstream puts them (OpenAI after `data`, vLLM before).
 */
export function readEmbeddingsSummary(body: string): EmbeddingsSummary {
  return { responseModel: readModel(body), inputTokens: readPromptTokens(body) };
}

function readModel(body: string): string | undefined {
  const key = body.indexOf('"model"');
  if (key < 0) return undefined;
  MODEL_VALUE.lastIndex = key;
  const match = MODEL_VALUE.exec(body);
  if (match === null) return undefined;
  const model: unknown = JSON.parse(match[1]);
  return typeof model === "string" ? model : undefined;
}

function readPromptTokens(body: string): number | undefined {
  const key = body.lastIndexOf('"usage"');
  if (key < 0) return undefined;
  const open = body.indexOf("{", key);
  const close = open < 0 ? -1 : matchingBrace(body, open);
  if (close < 0) return undefined;
  try {
    const usage = JSON.parse(body.slice(open, close + 1)) as { prompt_tokens?: unknown };
    return typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : undefined;
  } catch {
    return undefined;
  }
}

/** The index of the `}` closing the object that opens at `open`, strings skipped; -1 if none. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let index = open; index < text.length; index += 1) {
    const character = text[index];
    if (inString) {
      if (character === "\\") index += 1;
      else if (character === '"') inString = false;
    } else if (character === '"') inString = true;
    else if (character === "{") depth += 1;
    else if (character === "}") {
      depth -= 1;
      if (depth === 0) return index;
    }
  }
  return -1;
}
