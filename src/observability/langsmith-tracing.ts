import type { Client } from "langsmith";
import type { Config } from "../config.ts";
import { urlWithoutCredentials } from "../url-without-credentials.ts";

/** LangSmith's hosted API, used when `LANGSMITH_ENDPOINT` is unset. */
export const DEFAULT_LANGSMITH_ENDPOINT = "https://api.smith.langchain.com";
/** The project runs go to when `LANGSMITH_PROJECT` is unset (LangSmith's own default). */
export const DEFAULT_LANGSMITH_PROJECT = "default";

export type LangSmithTracing = {
  readonly client: Client;
  readonly projectName: string;
  /** Where runs go, without credentials: safe for `/trace-check`. */
  readonly endpoint: string;
  /** Sends every queued run; called when the app closes. */
  flush(): Promise<void>;
};

/** Whether runs are sent: `LANGSMITH_TRACING=true` and a key to send them with. */
export function isLangSmithEnabled(config: Config): boolean {
  return config.langsmithTracing && config.langsmithApiKey !== undefined;
}

/**
 * The LangSmith client, or `undefined` when tracing is off (then the SDK is not even loaded).
 * Everything comes from Config, not from the SDK reading the environment on its own.
 */
export async function createLangSmithTracing(config: Config): Promise<LangSmithTracing | undefined> {
  if (!isLangSmithEnabled(config)) return undefined;
  const { Client } = await import("langsmith");
  const apiUrl = (config.langsmithEndpoint ?? DEFAULT_LANGSMITH_ENDPOINT).replace(/\/+$/, "");
  const client = new Client({
    apiUrl,
    apiKey: config.langsmithApiKey,
    autoBatchTracing: true,
    // The SDK would otherwise attach the process's runtime and LANGCHAIN_* variables to every run.
    omitTracedRuntimeInfo: true,
    disablePromptCache: true,
  });
  return {
    client,
    projectName: config.langsmithProject ?? DEFAULT_LANGSMITH_PROJECT,
    endpoint: urlWithoutCredentials(apiUrl),
    flush: () => client.awaitPendingTraceBatches(),
  };
}
