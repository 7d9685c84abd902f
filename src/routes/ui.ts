import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { CONSOLE_PATH } from "../http/console-request.ts";

/** The console's own files: plain JavaScript modules and CSS, served as they are (no build). */
const UI_ROOT = fileURLToPath(new URL("../ui/", import.meta.url));

/** The two libraries the console imports, served from the installed, pinned packages (licences beside them). */
const VENDOR_FILES: Record<string, string> = {
  "marked.js": fileURLToPath(import.meta.resolve("marked")),
  "purify.js": fileURLToPath(import.meta.resolve("dompurify")),
};

/**
 * Strict on the console's responses: only its own scripts, styles and API calls, nothing inline,
 * so model output that slipped past sanitising could still neither run nor load anything.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** `GET /ui`, the web console, and its files under `/ui/`; no key needed (its API calls carry one). */
export const uiRoutes: FastifyPluginAsync = async (app) => {
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("content-security-policy", CONSOLE_CONTENT_SECURITY_POLICY);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    return payload;
  });

  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: `${CONSOLE_PATH}/`,
    index: false,
    // Revalidate on every load, so an upgraded service never runs yesterday's console.
    cacheControl: true,
    maxAge: 0,
  });

  app.get(
    CONSOLE_PATH,
    { schema: { tags: ["system"], summary: "The web console: playground, knowledge, operations" } },
    async (_request, reply) => reply.sendFile("index.html", UI_ROOT),
  );

  for (const [name, file] of Object.entries(VENDOR_FILES)) {
    app.get(`${CONSOLE_PATH}/vendor/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      reply.sendFile(basename(file), dirname(file)),
    );
  }
};
