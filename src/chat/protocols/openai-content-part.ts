import type { LanguageModelV4FilePart } from "@ai-sdk/provider";
import { parseDataUrl } from "./data-url.ts";
import { invalidField, type RequestNotes } from "./request-notes.ts";

export type OpenAIContentPart = Readonly<Record<string, unknown>> & { type: string; text?: string };

const AUDIO_MEDIA_TYPES: Readonly<Record<string, string>> = { wav: "audio/wav", mp3: "audio/mpeg" };

/**
 * A user message's `image_url`, `input_audio` or `file` part as the AI SDK's file part; undefined
 * (and noted) for a part with no translation.
 */
export function filePartOf(
  part: OpenAIContentPart,
  param: string,
  notes: RequestNotes,
): LanguageModelV4FilePart | undefined {
  switch (part.type) {
    case "image_url": {
      const image = part.image_url as { url?: unknown; detail?: unknown } | undefined;
      if (typeof image?.url !== "string") throw invalidField(`${param}.image_url.url`, "a URL is required");
      if (image.detail !== undefined && image.detail !== null && image.detail !== "auto") {
        notes.untranslatable(`${param}.image_url.detail`, "only `auto` detail has a translation");
      }
      notes.uses("images", param);
      return fileFromUrl(image.url, "image", `${param}.image_url.url`);
    }
    case "input_audio": {
      const audio = part.input_audio as { data?: unknown; format?: unknown } | undefined;
      const mediaType = typeof audio?.format === "string" ? AUDIO_MEDIA_TYPES[audio.format] : undefined;
      if (typeof audio?.data !== "string" || mediaType === undefined) {
        throw invalidField(`${param}.input_audio`, "`data` (base64) and `format` (wav or mp3) are required");
      }
      notes.uses("audio", param);
      return { type: "file", mediaType, data: { type: "data", data: audio.data } };
    }
    case "file": {
      const file = part.file as { file_data?: unknown; file_id?: unknown; filename?: unknown } | undefined;
      if (file?.file_id !== undefined && file.file_id !== null) {
        notes.untranslatable(`${param}.file.file_id`, "uploaded file ids exist only at OpenAI");
        return undefined;
      }
      if (typeof file?.file_data !== "string")
        throw invalidField(`${param}.file.file_data`, "a data URL is required");
      const parsed = parseDataUrl(file.file_data);
      if (parsed === undefined)
        throw invalidField(`${param}.file.file_data`, "it must be a base64 data: URL");
      notes.uses("documents", param);
      return {
        type: "file",
        mediaType: parsed.mediaType,
        data: { type: "data", data: parsed.base64 },
        ...(typeof file.filename === "string" ? { filename: file.filename } : {}),
      };
    }
    default:
      notes.untranslatable(param, `it takes no "${part.type}" parts`);
      return undefined;
  }
}

/** An http(s) URL the provider fetches, or a data URL's bytes. */
function fileFromUrl(url: string, fallbackMediaType: string, param: string): LanguageModelV4FilePart {
  if (url.startsWith("data:")) {
    const parsed = parseDataUrl(url);
    if (parsed === undefined) throw invalidField(param, "a data: URL must be base64");
    return { type: "file", mediaType: parsed.mediaType, data: { type: "data", data: parsed.base64 } };
  }
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw invalidField(param, "it is not a URL");
  }
  if (parsedUrl.protocol !== "https:" && parsedUrl.protocol !== "http:") {
    throw invalidField(param, "only http(s) and data: URLs are taken");
  }
  return { type: "file", mediaType: fallbackMediaType, data: { type: "url", url: parsedUrl } };
}
