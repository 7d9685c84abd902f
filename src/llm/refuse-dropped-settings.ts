import type { SharedV4Warning } from "@ai-sdk/provider";
import { ServiceError } from "../errors/service-error.ts";

/** The AI SDK's names for call settings, in the words of OpenAI's request, which errors name. */
const PARAMS: Readonly<Record<string, string>> = {
  frequencyPenalty: "frequency_penalty",
  presencePenalty: "presence_penalty",
  maxOutputTokens: "max_tokens",
  stopSequences: "stop",
  topP: "top_p",
  topK: "top_k",
  responseFormat: "response_format",
  toolChoice: "tool_choice",
};

/**
 * An AI SDK provider that cannot honour a setting drops it (or clamps it) and says so only in a
 * warning. A request is never silently changed, so such a warning fails the call with a 400 that
 * names the setting. It comes before the first byte of a stream, and with a whole reply.
 */
export function refuseDroppedSettings(warnings: readonly SharedV4Warning[] | undefined): void {
  const dropped = warnings?.find((warning) => warning.type === "unsupported");
  if (dropped === undefined || dropped.type !== "unsupported") return;
  const param = PARAMS[dropped.feature] ?? dropped.feature;
  throw new ServiceError({
    code: "UNSUPPORTED_PARAMETER",
    message: `The model's provider cannot honour \`${param}\`${dropped.details === undefined ? "" : ` (${dropped.details})`}. Leave it out, or change it.`,
    param,
  });
}
