// Knowledge: ingest a source and follow its job, the documents list with delete, and search.
import { apiFetch, apiJson } from "./api-client.js";
import { readServerSentEvents } from "./read-server-sent-events.js";

const FINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);
const SOURCE_LABELS = {
  url: { label: "URL", placeholder: "https://example.com/page.html" },
  file: { label: "File name under the ingest root", placeholder: "notes/handbook.md" },
  text: { label: "Name of the text", placeholder: "meeting-notes.md" },
};

export function createKnowledge() {
  const ingestForm = document.getElementById("ingest-form");
  const sourceLabel = document.getElementById("ingest-source-label");
  const sourceInput = document.getElementById("ingest-source");
  const textField = document.getElementById("ingest-text-field");
  const textInput = document.getElementById("ingest-text");
  const progress = document.getElementById("ingest-progress");
  const progressBar = document.getElementById("ingest-progress-bar");
  const ingestStatus = document.getElementById("ingest-status");
  const documentsBody = document.querySelector("#documents-table tbody");
  const documentsStatus = document.getElementById("documents-status");
  const searchForm = document.getElementById("search-form");
  const searchStatus = document.getElementById("search-status");
  const searchResults = document.getElementById("search-results");

  ingestForm.addEventListener("change", (event) => {
    if (event.target.name === "kind") showKind(event.target.value);
  });
  ingestForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ingest();
  });
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    search(searchForm.elements.q.value);
  });
  showKind(ingestForm.elements.kind.value);

  function showKind(kind) {
    const { label, placeholder } = SOURCE_LABELS[kind];
    sourceLabel.textContent = label;
    sourceInput.placeholder = placeholder;
    // The browser checks a URL's shape; a file name or a text's name is any text.
    sourceInput.type = kind === "url" ? "url" : "text";
    textField.hidden = kind !== "text";
    textInput.required = kind === "text";
  }

  async function ingest() {
    const kind = ingestForm.elements.kind.value;
    const body = { source: sourceInput.value.trim() };
    if (kind === "text") body.text = textInput.value;
    progress.hidden = false;
    progressBar.value = 0;
    ingestStatus.textContent = "Sending…";
    try {
      const { job_id: jobId } = await apiJson("/ingest", { method: "POST", json: body });
      ingestStatus.textContent = `Job ${jobId} queued.`;
      const job = await followJob(jobId);
      if (job.status === "completed") {
        ingestStatus.textContent = `Done: ${describeResult(job.result)}`;
        ingestForm.reset();
        showKind("url");
      } else {
        ingestStatus.textContent = `${job.status}: ${job.error_code ?? ""} ${job.error ?? ""}`.trim();
      }
    } catch (error) {
      ingestStatus.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
    }
    refreshDocuments();
  }

  /** The job's last status, followed over its events stream (each frame is the `/status` body). */
  async function followJob(jobId) {
    const response = await apiFetch(`/status/${encodeURIComponent(jobId)}/events`, {
      headers: { accept: "text/event-stream" },
    });
    let last;
    for await (const { event, data } of readServerSentEvents(response)) {
      if (event === "error") {
        const failure = JSON.parse(data);
        throw Object.assign(new Error(failure.message), { code: failure.code });
      }
      if (event !== "status") continue;
      last = JSON.parse(data);
      progressBar.value = last.progress;
      ingestStatus.textContent = `${last.status}, ${last.progress} %`;
      if (FINAL_STATUSES.has(last.status)) return last;
    }
    // The stream ended without a final state: ask once more rather than guess.
    return last && FINAL_STATUSES.has(last.status) ? last : apiJson(`/status/${encodeURIComponent(jobId)}`);
  }

  async function refreshDocuments() {
    try {
      const page = await apiJson("/knowledge/documents?limit=100");
      documentsBody.replaceChildren(...page.documents.map(documentRow));
      documentsStatus.textContent =
        page.total === 0
          ? "No documents yet."
          : `${page.total} document${page.total === 1 ? "" : "s"}${page.total > page.documents.length ? `, the newest ${page.documents.length} shown` : ""}.`;
    } catch (error) {
      documentsStatus.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
    }
  }

  function documentRow(document_) {
    const row = document.createElement("tr");
    const cells = [
      document_.source,
      document_.content_type,
      String(document_.chunks),
      document_.characters.toLocaleString(),
      document_.state,
      new Date(document_.created_at).toLocaleString(),
    ];
    for (const [index, text] of cells.entries()) {
      const cell = document.createElement(index === 0 ? "th" : "td");
      if (index === 0) cell.scope = "row";
      cell.textContent = text;
      row.append(cell);
    }
    const actions = document.createElement("td");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "quiet";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${document_.source}`);
    // Deleting takes a second click, so a stray one loses nothing.
    remove.addEventListener("click", async () => {
      if (remove.dataset.armed !== "true") {
        remove.dataset.armed = "true";
        remove.textContent = "Confirm delete";
        remove.classList.replace("quiet", "danger");
        return;
      }
      remove.disabled = true;
      try {
        await apiFetch(`/knowledge/documents/${encodeURIComponent(document_.document_id)}`, {
          method: "DELETE",
        });
        documentsStatus.textContent = `Deleted ${document_.source}.`;
      } catch (error) {
        documentsStatus.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
      }
      refreshDocuments();
    });
    actions.append(remove);
    row.append(actions);
    return row;
  }

  async function search(query) {
    searchStatus.textContent = "Searching…";
    try {
      const answer = await apiJson(`/knowledge/search?${new URLSearchParams({ q: query, limit: "10" })}`);
      searchResults.replaceChildren(...answer.results.map(resultItem));
      searchStatus.textContent =
        answer.results.length === 0
          ? "Nothing matched."
          : `${answer.results.length} passage${answer.results.length === 1 ? "" : "s"} matched.`;
    } catch (error) {
      searchResults.replaceChildren();
      searchStatus.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
    }
  }

  return { refresh: refreshDocuments, focus: () => sourceInput.focus() };
}

function resultItem(result) {
  const item = document.createElement("li");
  const title = document.createElement("p");
  title.className = "result-source";
  title.textContent = `${result.source}, chunk ${result.chunk_index} (score ${result.score.toFixed(2)})`;
  const snippet = document.createElement("p");
  snippet.className = "snippet";
  snippet.append(...markedSnippet(result.snippet));
  item.append(title, snippet);
  return item;
}

/** The snippet's `**word**` spans as <mark> elements, the rest as text: never parsed as HTML. */
function markedSnippet(snippet) {
  return snippet.split("**").map((part, index) => {
    if (index % 2 === 0) return document.createTextNode(part);
    const mark = document.createElement("mark");
    mark.textContent = part;
    return mark;
  });
}

function describeResult(result) {
  if (result === undefined || result === null) return "stored.";
  const parts = [];
  if (result.source) parts.push(result.source);
  if (result.chunks !== undefined) parts.push(`${result.chunks} chunks`);
  if (result.characters !== undefined) parts.push(`${result.characters} characters`);
  return parts.length > 0 ? parts.join(", ") : JSON.stringify(result);
}
