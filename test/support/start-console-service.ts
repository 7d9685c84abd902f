import { startServer } from "../../src/server.ts";
import { type FakeLlmUpstream, startFakeLlmUpstream } from "./fake-llm-upstream.ts";
import { testConfig } from "./test-config.ts";

/**
 * The real service as `npm start` runs it (its job worker included), on port 0, with the `openai`
 * provider pointed at a fake upstream. The default model is `openai:fake-model`; `echo` is listed too.
 */
export async function startConsoleService(
  t: { after: (fn: () => unknown) => void },
  environment: Record<string, string> = {},
) {
  const upstream: FakeLlmUpstream = await startFakeLlmUpstream();
  const config = testConfig({
    LLM_MODEL: "openai:fake-model",
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_API_KEY: "sk-test-openai",
    ECHO_DELAY_MS: "0",
    SHUTDOWN_TIMEOUT_MS: "1000",
    ...environment,
  });
  const server = await startServer(config);
  t.after(async () => {
    // The upstream first, so a stream a failed test left open ends and does not hold the shutdown.
    await upstream.close();
    await server.shutdown("test finished");
  });
  return { address: server.address, config, upstream, server };
}
