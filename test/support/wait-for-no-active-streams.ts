import type { App } from "../../src/app.ts";
import { waitFor } from "./wait-for.ts";

/** Every stream slot is given back: the stream ended, however it ended. */
export async function waitForNoActiveStreams(app: App, timeoutMs = 2000): Promise<void> {
  await waitFor("every stream slot freed", () => app.streamSlots.active === 0, { timeoutMs, intervalMs: 10 });
}
