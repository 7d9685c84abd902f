// Model output is Markdown from an untrusted source. It becomes DOM nodes only through marked (with
// raw HTML turned back into text) and then DOMPurify; no string of it is ever assigned as HTML.

import { Marked } from "/ui/vendor/marked.js";
import DOMPurify from "/ui/vendor/purify.js";

const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // HTML the model writes is shown as the text it is, never interpreted.
    html: ({ text }) => escapeHtml(text),
  },
});

const PURIFY_OPTIONS = {
  RETURN_DOM_FRAGMENT: true,
  // Styles would be blocked by the page's CSP anyway; forms and media have no place in a reply.
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "video", "audio"],
  FORBID_ATTR: ["style", "class", "id"],
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

/** Sanitised DOM for `text`, with a copy button on each code block. */
export function renderMarkdown(text) {
  const fragment = DOMPurify.sanitize(markdown.parse(text, { async: false }), PURIFY_OPTIONS);
  for (const block of fragment.querySelectorAll("pre")) addCopyButton(block);
  return fragment;
}

function addCopyButton(block) {
  const wrapper = document.createElement("div");
  wrapper.className = "code-block";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy-button quiet";
  button.textContent = "Copy";
  button.setAttribute("aria-label", "Copy the code");
  button.addEventListener("click", () => copyCode(block, button));
  // A long line scrolls sideways; keyboard users need to reach it to scroll it.
  block.tabIndex = 0;
  block.replaceWith(wrapper);
  wrapper.append(button, block);
}

async function copyCode(block, button) {
  const code = block.textContent ?? "";
  try {
    // The clipboard API exists only in secure contexts (https, localhost).
    await navigator.clipboard.writeText(code);
    button.textContent = "Copied";
  } catch {
    const selection = window.getSelection();
    selection.selectAllChildren(block);
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => {
    button.textContent = "Copy";
  }, 2000);
}

function escapeHtml(text) {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}
