// The real server process (config, listen, signal handling) with one extra slow route, so a test
// can send SIGTERM while a request is in flight.
import { setTimeout as sleep } from "node:timers/promises";
import { main } from "../../src/server.ts";

await main({
  extend: (app) => {
    app.get("/test/slow", async (request) => {
      const { ms } = request.query as { ms?: string };
      // Tells the test, through the process's output, that the request is in flight.
      request.log.info("slow request started");
      await sleep(Number(ms ?? 1000));
      return { finished: true };
    });
  },
});
