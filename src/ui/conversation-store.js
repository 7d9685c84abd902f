// The playground's conversation and settings, kept in localStorage so a reload loses nothing.

const CONVERSATION_KEY = "llm-console.conversation";
const SETTINGS_KEY = "llm-console.settings";

/**
 * Each entry: `{ role: "user" | "assistant", content, facts?, sources?, error?, stopped? }`.
 * `facts` holds request id, usage, time to first token and tokens per second.
 */
export function loadConversation() {
  return readJson(CONVERSATION_KEY, []);
}

export function saveConversation(entries) {
  localStorage.setItem(CONVERSATION_KEY, JSON.stringify(entries));
}

export function loadSettings() {
  return readJson(SETTINGS_KEY, {});
}

export function saveSettings(settings) {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

/** What the model is sent: the turns that happened, without failed or empty replies. */
export function messagesForModel(entries) {
  return entries
    .filter((entry) => entry.error === undefined && entry.content !== "")
    .map((entry) => ({ role: entry.role, content: entry.content }));
}

function readJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? "null");
    return value ?? fallback;
  } catch {
    return fallback;
  }
}
