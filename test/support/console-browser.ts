import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium; `npx playwright install` cannot download a browser here. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Where each run leaves its screenshots (ignored by git). */
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, "../screenshots");

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** A headless Chromium for the whole test file, closed after it; fails in one line when it is missing. */
export async function launchBrowser(t: { after: (fn: () => unknown) => void }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The console's browser tests need Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (.ci/run installs it).`,
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  t.after(() => browser.close());
  return browser;
}

export type ConsolePage = {
  page: Page;
  /** Uncaught errors, console errors and CSP violations seen so far; a working page has none. */
  problems: string[];
};

/** A fresh browser context (its own storage) on `address + path`, once the console has loaded. */
export async function openConsole(
  browser: Browser,
  address: string,
  options: { path?: string; viewport?: { width: number; height: number } } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`${address}${options.path ?? "/ui"}`);
  await page.waitForSelector("body[data-console-ready]", { state: "attached" });
  return { page, problems };
}

/**
 * Console errors a test provokes on purpose (a 401, an aborted stream) are logged by Chromium as
 * "Failed to load resource"; anything else is a fault of the page.
 */
export function unexpectedProblems(problems: string[], expectedStatuses: number[] = []): string[] {
  return problems.filter(
    (problem) =>
      !expectedStatuses.some((status) => problem.includes(`the server responded with a status of ${status}`)),
  );
}

let axeSource: string | undefined;

/** axe-core's serious and critical violations on what the page shows now, as readable lines. */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  axeSource ??= await readFile(
    path.resolve(import.meta.dirname, "../../node_modules/axe-core/axe.min.js"),
    "utf8",
  );
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not stop it.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<AxeResults> } }
    ).axe;
    const results = await axe.run((globalThis as unknown as { document: unknown }).document, {
      resultTypes: ["violations"],
    });
    return results.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(" ")),
    }));
  });
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.impact} ${violation.id}: ${violation.help} (${violation.targets.join(", ")})`,
    );
}

type AxeResults = {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
};

/** Saves a full-page PNG under test/screenshots/ and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
