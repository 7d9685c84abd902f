import { relayEmbeddings } from "../../llm/relay-embeddings.ts";
import type { EmbeddingsSource } from "../embeddings-source.ts";

/**
 * A provider that speaks OpenAI's API itself (`openai`, `ollama`, vLLM behind `OPENAI_BASE_URL`):
 * the client's body goes on as it came, with only `model` changed to the upstream's id, so every
 * field reaches it (vLLM's extras included); its JSON answer comes back byte for byte.
 */
export const embeddingsRelaySource: EmbeddingsSource = {
  serves: (model) => model.chatCompletions !== undefined,
  // The upstream judges every field itself: nothing is refused here.
  check() {},
  async embed(call) {
    const upstream = call.model.chatCompletions;
    // `serves` keeps other models away; this names the mistake if a caller skips it.
    if (upstream === undefined) throw new Error(`${call.model.name} is not an OpenAI-compatible upstream.`);
    const { body, summary } = await relayEmbeddings({
      upstream,
      body: JSON.stringify({ ...call.body, model: call.model.modelId }),
      signal: call.signal,
      handle: call.handle,
      limits: call.limits,
    });
    return { body, ...summary };
  },
};
