/**
 * A bare Fastify app (no plugins, no logger, no schemas) whose routes return the same JSON as the
 * service: the ceiling a Fastify service can reach on one core, run beside the service.
 *
 *   node bench/bare-fastify.ts --port 9002 [--chat-body-file reply.json]
 *
 * `--chat-body-file` holds the body the service's `POST /chat` answered, so both serialise the same
 * object; `POST /v1/chat/completions` answers the fake upstream's completion.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { defaultStreamShape, precomputeFrames } from "./fake-upstream.ts";

export const defaultChatBody = {
  reply: "Echo: Hello from the benchmark",
  model: "echo",
  usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
  finish_reason: "stop",
  request_id: "00000000-0000-4000-8000-000000000000",
};

export function buildBareFastify(chatBody: unknown) {
  const app = Fastify({ logger: false });
  const completion = JSON.parse(precomputeFrames(defaultStreamShape).json.toString("utf8")) as unknown;
  // Objects, not strings: the service serialises an object per request, and so must its ceiling.
  app.post("/chat", async () => chatBody);
  app.post("/v1/chat/completions", async () => completion);
  return app;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: process.env.PORT ?? "9002" },
      host: { type: "string", default: "127.0.0.1" },
      "chat-body-file": { type: "string" },
    },
  });
  const chatBodyFile = values["chat-body-file"];
  const chatBody = chatBodyFile
    ? (JSON.parse(readFileSync(chatBodyFile, "utf8")) as unknown)
    : defaultChatBody;
  const app = buildBareFastify(chatBody);
  await app.listen({ port: Number(values.port), host: values.host });
  process.stdout.write(
    `${JSON.stringify({ event: "listening", port: Number(values.port), pid: process.pid })}\n`,
  );
  process.on("SIGTERM", () => process.exit(0));
}
