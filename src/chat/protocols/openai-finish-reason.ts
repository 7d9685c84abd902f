import type { FinishReason } from "../../llm/finish-reason.ts";

/** Our finish reason in OpenAI's words: OpenAI has no `other`, and clients expect `stop` there. */
export function openAIFinishReason(reason: FinishReason | undefined): string {
  return reason === undefined || reason === "other" ? "stop" : reason;
}
