// The playground: a conversation with any configured model, streamed from /chat/stream.
import { ApiError, apiFetch, apiJson } from "./api-client.js";
import {
  loadConversation,
  loadSettings,
  messagesForModel,
  saveConversation,
  saveSettings,
} from "./conversation-store.js";
import { readServerSentEvents } from "./read-server-sent-events.js";
import { renderMarkdown } from "./render-markdown.js";

export function createPlayground() {
  const conversation = document.getElementById("conversation");
  const composer = document.getElementById("composer");
  const input = document.getElementById("composer-input");
  const sendButton = document.getElementById("send-button");
  const stopButton = document.getElementById("stop-button");
  const status = document.getElementById("chat-status");
  const settingsForm = document.getElementById("chat-settings");
  const modelSelect = document.getElementById("model-select");

  let entries = loadConversation();
  /** The request in flight, if any. */
  let controller;
  /** Each entry's list item, to update a streaming reply in place. */
  const items = new Map();

  restoreSettings();
  renderConversation();
  // At phone width the settings fold away, so the conversation is on the first screen.
  if (window.matchMedia("(max-width: 760px)").matches) {
    document.getElementById("settings-details").open = false;
  }

  settingsForm.addEventListener("input", storeSettings);
  settingsForm.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("clear-conversation").addEventListener("click", () => {
    controller?.abort();
    entries = [];
    saveConversation(entries);
    renderConversation();
    announce("Conversation cleared.");
    input.focus();
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter breaks the line; an IME composing text keeps its Enter.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  stopButton.addEventListener("click", () => controller?.abort());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller !== undefined) {
      event.preventDefault();
      controller.abort();
    }
  });

  async function loadModels() {
    const wanted = modelSelect.value || loadSettings().model;
    try {
      const list = await apiJson("/v1/models");
      modelSelect.replaceChildren(
        ...list.data.map((model) => {
          const option = document.createElement("option");
          option.value = model.id;
          option.textContent = model.id;
          return option;
        }),
      );
      if (list.data.some((model) => model.id === wanted)) modelSelect.value = wanted;
    } catch (error) {
      announce(`The models could not be listed: ${describe(error)}`);
    }
  }

  function requestBody(history) {
    const body = { messages: history, model: modelSelect.value || undefined };
    const system = settingsForm.elements.system.value;
    if (system.trim() !== "") body.system = system;
    const temperature = settingsForm.elements.temperature.value;
    if (temperature !== "") body.temperature = Number(temperature);
    const maxTokens = settingsForm.elements.max_tokens.value;
    if (maxTokens !== "") body.max_tokens = Number(maxTokens);
    if (settingsForm.elements.knowledge.checked) body.knowledge = true;
    return body;
  }

  async function send() {
    const text = input.value;
    if (controller !== undefined || text.trim() === "") return;
    // A value the browser finds out of range is shown, never sent changed or dropped.
    if (!settingsForm.reportValidity()) return;
    const user = { role: "user", content: text };
    const reply = { role: "assistant", content: "", facts: {} };
    const body = requestBody([...messagesForModel(entries), { role: "user", content: text }]);
    entries.push(user, reply);
    appendItem(user);
    appendItem(reply);
    input.value = "";
    saveConversation(entries);

    controller = new AbortController();
    setStreaming(true);
    const startedAt = performance.now();
    let firstTextAt;
    let finished = false;
    try {
      const response = await apiFetch("/chat/stream", {
        method: "POST",
        json: body,
        signal: controller.signal,
        headers: { accept: "text/event-stream" },
      });
      for await (const { event, data } of readServerSentEvents(response)) {
        if (event === "meta") reply.facts.requestId = data.replace(/^request_id=/, "");
        else if (event === "sources") reply.sources = JSON.parse(data).sources;
        else if (event === "usage") {
          const usage = JSON.parse(data);
          reply.facts.usage = {
            prompt: usage.prompt_tokens,
            completion: usage.completion_tokens,
            total: usage.total_tokens,
          };
          reply.facts.finishReason = usage.finish_reason;
        } else if (event === "error") {
          const separator = data.indexOf(": ");
          reply.error = {
            code: separator === -1 ? "STREAM_ERROR" : data.slice(0, separator),
            message: separator === -1 ? data : data.slice(separator + 2),
          };
        } else if (data === "[DONE]") {
          finished = true;
          break;
        } else {
          firstTextAt ??= performance.now();
          reply.content += data;
          scheduleRender(reply);
        }
      }
      if (!finished) {
        reply.error = { code: "STREAM_CUT", message: "The stream ended before its last frame." };
      }
    } catch (error) {
      if (error.name === "AbortError") {
        reply.stopped = true;
      } else if (error instanceof ApiError && error.status === 401) {
        // Nothing was said yet: take the turn back, so it can be sent again once a key is given.
        entries.splice(entries.indexOf(user), 2);
        items.get(user)?.remove();
        items.get(reply)?.remove();
        input.value = text;
      } else {
        reply.error = { code: error.code ?? "STREAM_FAILED", message: error.message };
        reply.facts.requestId ??= error.requestId;
      }
    } finally {
      const endedAt = performance.now();
      if (firstTextAt !== undefined) {
        reply.facts.timeToFirstTokenMs = Math.round(firstTextAt - startedAt);
        const seconds = (endedAt - firstTextAt) / 1000;
        const tokens = reply.facts.usage?.completion;
        if (tokens !== undefined && seconds > 0) reply.facts.tokensPerSecond = tokens / seconds;
      }
      controller = undefined;
      setStreaming(false);
      saveConversation(entries);
      if (items.has(reply)) updateItem(reply);
      announce(reply.error ? `Failed: ${reply.error.code}` : reply.stopped ? "Stopped." : "Reply finished.");
    }
  }

  function setStreaming(streaming) {
    sendButton.disabled = streaming;
    stopButton.disabled = !streaming;
    conversation.setAttribute("aria-busy", String(streaming));
  }

  let renderPending = new Set();
  function scheduleRender(entry) {
    if (renderPending.size === 0) {
      requestAnimationFrame(() => {
        const pending = renderPending;
        renderPending = new Set();
        for (const item of pending) updateItem(item);
      });
    }
    renderPending.add(entry);
  }

  function renderConversation() {
    items.clear();
    conversation.replaceChildren();
    for (const entry of entries) appendItem(entry);
  }

  function appendItem(entry) {
    const item = document.createElement("li");
    item.className = `message ${entry.role}`;
    items.set(entry, item);
    conversation.append(item);
    updateItem(entry);
    item.scrollIntoView({ block: "end" });
  }

  function updateItem(entry) {
    const item = items.get(entry);
    const heading = document.createElement("p");
    heading.className = "message-role";
    heading.textContent = entry.role === "user" ? "You" : "Assistant";
    const body = document.createElement("div");
    body.className = "message-body";
    if (entry.role === "user") {
      body.classList.add("user-text");
      body.textContent = entry.content;
    } else {
      body.classList.add("markdown");
      body.append(renderMarkdown(entry.content));
    }
    const parts = [heading, body];
    if (entry.role === "assistant") parts.push(...replyDetails(entry));
    item.replaceChildren(...parts);
    item.classList.toggle(
      "streaming",
      entry.role === "assistant" && controller !== undefined && isLast(entry),
    );
  }

  function isLast(entry) {
    return entries.at(-1) === entry;
  }

  function replyDetails(entry) {
    const parts = [];
    if (entry.sources?.length) {
      const sources = document.createElement("div");
      sources.className = "sources";
      const title = document.createElement("p");
      title.textContent = "Sources";
      const list = document.createElement("ol");
      for (const source of entry.sources) {
        const line = document.createElement("li");
        line.textContent = `${source.source} (chunk ${source.chunk_index}, score ${source.score.toFixed(2)})`;
        list.append(line);
      }
      sources.append(title, list);
      parts.push(sources);
    }
    if (entry.error) {
      const error = document.createElement("p");
      error.className = "message-error";
      const code = document.createElement("strong");
      code.textContent = entry.error.code;
      error.append(code, ` ${entry.error.message}`);
      parts.push(error);
    }
    if (entry.stopped) {
      const stopped = document.createElement("p");
      stopped.className = "message-note";
      stopped.textContent = "Stopped before the end.";
      parts.push(stopped);
    }
    const facts = factList(entry.facts ?? {});
    if (facts) parts.push(facts);
    return parts;
  }

  function factList(facts) {
    const rows = [];
    if (facts.requestId) rows.push(["Request id", facts.requestId]);
    if (facts.usage) rows.push(["Tokens", `${facts.usage.prompt} in, ${facts.usage.completion} out`]);
    if (facts.timeToFirstTokenMs !== undefined) rows.push(["First token", `${facts.timeToFirstTokenMs} ms`]);
    if (facts.tokensPerSecond !== undefined)
      rows.push(["Speed", `${facts.tokensPerSecond.toFixed(1)} tokens/s`]);
    if (facts.finishReason) rows.push(["Finish", facts.finishReason]);
    if (rows.length === 0) return undefined;
    const list = document.createElement("dl");
    list.className = "facts";
    for (const [name, value] of rows) {
      const group = document.createElement("div");
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = value;
      group.append(term, detail);
      list.append(group);
    }
    return list;
  }

  function restoreSettings() {
    const settings = loadSettings();
    const fields = settingsForm.elements;
    fields.system.value = settings.system ?? "";
    fields.temperature.value = settings.temperature ?? "";
    fields.max_tokens.value = settings.max_tokens ?? "";
    fields.knowledge.checked = settings.knowledge === true;
  }

  function storeSettings() {
    const fields = settingsForm.elements;
    saveSettings({
      model: modelSelect.value,
      system: fields.system.value,
      temperature: fields.temperature.value,
      max_tokens: fields.max_tokens.value,
      knowledge: fields.knowledge.checked,
    });
  }

  function announce(text) {
    status.textContent = text;
  }

  return {
    refresh: loadModels,
    focus: () => input.focus(),
  };
}

function describe(error) {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
