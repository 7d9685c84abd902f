// The console's entry: the three views behind hash links, and the API-key form the views share.
import { KEY_CHANGED_EVENT, KEY_REQUIRED_EVENT, storedKey, storeKey } from "./api-client.js";
import { createKnowledge } from "./knowledge.js";
import { createOperations } from "./operations.js";
import { createPlayground } from "./playground.js";

const views = {
  playground: createPlayground(),
  knowledge: createKnowledge(),
  operations: createOperations(),
};
const DEFAULT_VIEW = "playground";

const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("key-input");
const keyReason = document.getElementById("key-reason");
const keyToggle = document.getElementById("key-toggle");
let currentView;

function showView(name, { moveFocus }) {
  const view = Object.hasOwn(views, name) ? name : DEFAULT_VIEW;
  for (const section of document.querySelectorAll("main > .view")) section.hidden = section.id !== view;
  for (const link of document.querySelectorAll("[data-view]")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (currentView === "operations" && view !== "operations") views.operations.stop();
  currentView = view;
  document.title = `${document.getElementById(`${view}-title`).textContent} · LLM API Service`;
  if (view === "operations") views.operations.start();
  else views[view].refresh();
  // After a click on a section link, a keyboard or screen-reader user lands on its heading.
  if (moveFocus) document.getElementById(`${view}-title`).focus();
}

function askForKey(reason) {
  keyReason.textContent = reason;
  keyForm.hidden = false;
  keyToggle.hidden = false;
  keyToggle.setAttribute("aria-expanded", "true");
  keyInput.focus();
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  storeKey(keyInput.value.trim());
  keyInput.value = "";
  keyForm.hidden = true;
  keyToggle.setAttribute("aria-expanded", "false");
});
document.getElementById("key-forget").addEventListener("click", () => {
  storeKey("");
  keyInput.value = "";
  askForKey("The key is forgotten. Enter one to go on.");
});
keyToggle.addEventListener("click", () => {
  if (keyForm.hidden) askForKey(storedKey() ? "A key is set; enter another to replace it." : "");
  else {
    keyForm.hidden = true;
    keyToggle.setAttribute("aria-expanded", "false");
  }
});
window.addEventListener(KEY_REQUIRED_EVENT, (event) => {
  askForKey(`The service needs an API key: ${event.detail.message}`);
});
window.addEventListener(KEY_CHANGED_EVENT, () => {
  views.playground.refresh();
  if (currentView !== "playground") views[currentView].refresh();
  if (currentView === "playground") views.playground.focus();
});

keyToggle.hidden = storedKey() === "";
window.addEventListener("hashchange", () => showView(location.hash.slice(1), { moveFocus: true }));
showView(location.hash.slice(1), { moveFocus: false });
if (currentView !== "playground") views.playground.refresh();
// Every handler is attached: what drives the page (a test, a script) may start now.
document.body.dataset.consoleReady = "true";
