import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket } from "node:net";
import { type FakeLlmUpstream, startFakeLlmUpstream } from "./fake-llm-upstream.ts";

export type KillableUpstream = {
  /** The fake upstream's base URL, reached through a TCP relay that can be killed. */
  baseUrl: string;
  upstream: FakeLlmUpstream;
  /** From now on every connection is cut: the open ones at once, new ones as they arrive. */
  kill(): void;
  /** Connections again pass through. */
  revive(): void;
  /** When each connection attempt arrived while killed (a request the router sent to a dead upstream). */
  readonly attemptsWhileKilled: readonly number[];
  close(): Promise<void>;
};

/**
 * A fake LLM upstream behind a TCP relay, so a test can kill the "deployment" mid-run as a crashed
 * server looks to a client (connections reset) and see every connection still sent to it.
 */
export async function startKillableUpstream(): Promise<KillableUpstream> {
  const upstream = await startFakeLlmUpstream();
  const target = new URL(upstream.baseUrl);
  const open = new Set<Socket>();
  const attemptsWhileKilled: number[] = [];
  let killed = false;
  const relay = createServer((client) => {
    if (killed) {
      attemptsWhileKilled.push(Date.now());
      client.destroy();
      return;
    }
    const server = connect(Number(target.port), target.hostname);
    open.add(client);
    open.add(server);
    const forget = () => {
      open.delete(client);
      open.delete(server);
      client.destroy();
      server.destroy();
    };
    client.on("error", forget).on("close", forget);
    server.on("error", forget).on("close", forget);
    client.pipe(server).pipe(client);
  });
  relay.listen(0, "127.0.0.1");
  await once(relay, "listening");
  const { port } = relay.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    upstream,
    kill() {
      killed = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    revive() {
      killed = false;
    },
    attemptsWhileKilled,
    async close() {
      for (const socket of open) socket.destroy();
      relay.close();
      await upstream.close();
    },
  };
}
