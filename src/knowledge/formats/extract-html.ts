import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";
import type { ExtractedDocument } from "./extracted-document.ts";
import { normaliseText } from "./normalise-text.ts";

/** Elements whose start and end break a paragraph. */
const BLOCKS = new Set(
  (
    "address article aside blockquote dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 " +
    "header hr li main nav ol p pre section table tbody thead tfoot tr ul"
  ).split(" "),
);
/** Elements that hold no readable text. */
const HIDDEN = new Set("script style noscript template svg canvas iframe object head".split(" "));
/**
 * What a page has around its content, dropped before Readability reads it: Readability scores
 * most chrome away, but on a short page it keeps what little there is, menus included. A header
 * goes only at the page's top level, as an article's own header holds its heading.
 */
const CHROME = "nav, footer, aside, body > header, [role=navigation], [role=banner], [role=contentinfo]";

type ReadabilityInput = ConstructorParameters<typeof Readability>[0];

type DomNode = {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
};

/**
 * An HTML page's main content with Mozilla's Readability (Firefox's reader view) over linkedom's
 * DOM, so navigation, footers and sidebars stay out of the knowledge base; the page's title is
 * kept. A page too short for Readability to call an article keeps its body without the usual
 * chrome. No script runs: linkedom only parses.
 */
export function extractHtml(html: string): ExtractedDocument {
  const { document } = parseHTML(html);
  const pageTitle = document.title?.trim() ?? "";
  for (const element of document.querySelectorAll(CHROME)) element.remove();
  // Readability changes the DOM it reads, so it reads a copy; the fallback reads the original.
  const copy = parseHTML(document.toString()).document;
  const article = new Readability(copy as unknown as ReadabilityInput, { charThreshold: 200 }).parse();
  let text: string;
  if (article?.content) {
    text = blockText(
      parseHTML(`<html><body>${article.content}</body></html>`).document.body as unknown as DomNode,
    );
  } else {
    text = document.body ? blockText(document.body as unknown as DomNode) : "";
  }
  const title = (article?.title ?? "").trim() || pageTitle;
  return { type: "html", ...(title ? { title } : {}), sections: text === "" ? [] : [{ text }] };
}

/** The text under a node with its block structure as paragraphs: lines collapsed, blocks apart. */
function blockText(root: DomNode): string {
  const parts: string[] = [];
  const visit = (node: DomNode): void => {
    if (node.nodeType === 3) {
      parts.push((node.textContent ?? "").replace(/\s+/g, " "));
      return;
    }
    if (node.nodeType !== 1) return;
    const name = node.nodeName.toLowerCase();
    if (HIDDEN.has(name)) return;
    if (name === "br") {
      parts.push("\n");
      return;
    }
    const block = BLOCKS.has(name);
    if (block) parts.push("\n\n");
    for (const child of Array.from(node.childNodes)) visit(child);
    if (block) parts.push("\n\n");
    else if (name === "td" || name === "th") parts.push(" ");
  };
  visit(root);
  return normaliseText(
    parts
      .join("")
      .split("\n")
      .map((line) => line.trim())
      .join("\n"),
  );
}
