// Routing health (/models/status) and keys and usage (/admin/keys, /admin/usage). Other releases of
// the service may not have these endpoints: a panel appears only once its endpoint answers, and
// their bodies are shown as tables of whatever rows they hold rather than a fixed set of columns.
import { ApiError, apiJson } from "./api-client.js";

const ADMIN_KEY_STORAGE = "llm-console.admin-key";

export function createAdminPanels() {
  const routingPanel = document.getElementById("routing-panel");
  const routingBody = document.getElementById("routing-body");
  const adminPanel = document.getElementById("admin-panel");
  const adminForm = document.getElementById("admin-key-form");
  const adminInput = document.getElementById("admin-key-input");
  const adminStatus = document.getElementById("admin-status");
  const adminBody = document.getElementById("admin-body");

  adminForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(ADMIN_KEY_STORAGE, adminInput.value);
    refreshAdmin();
  });

  async function refreshRouting() {
    if (!(await endpointExists("/models/status"))) {
      routingPanel.hidden = true;
      return;
    }
    try {
      const body = await apiJson("/models/status");
      routingBody.replaceChildren(...tablesOf(body));
      routingPanel.hidden = false;
    } catch (error) {
      routingBody.replaceChildren(errorLine(error));
      routingPanel.hidden = false;
    }
  }

  async function refreshAdmin() {
    const key = sessionStorage.getItem(ADMIN_KEY_STORAGE) ?? "";
    if (key === "") {
      // Shown only where the admin API exists, as the service's own API description says.
      adminPanel.hidden = !(await endpointExists("/admin/usage"));
      return;
    }
    try {
      const [keys, byKey, byModel] = await Promise.all([
        apiJson("/admin/keys", { key }),
        apiJson("/admin/usage?group_by=key", { key }),
        apiJson("/admin/usage?group_by=model", { key }),
      ]);
      adminBody.replaceChildren(
        ...tablesOf(keys, "Keys"),
        ...tablesOf(byKey, "Usage by key"),
        ...tablesOf(byModel, "Usage by model"),
      );
      adminStatus.textContent = "";
      adminPanel.hidden = false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        adminPanel.hidden = true;
        return;
      }
      adminBody.replaceChildren();
      adminStatus.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
      adminPanel.hidden = false;
    }
  }

  return {
    refresh() {
      refreshRouting();
      refreshAdmin();
    },
  };
}

function errorLine(error) {
  const line = document.createElement("p");
  line.textContent = `${error.code ?? "ERROR"}: ${error.message}`;
  return line;
}

/** Whether this service has `path`, as its own API description says; asking it would log a 404. */
async function endpointExists(path) {
  try {
    const description = await apiJson("/openapi.json");
    return Object.hasOwn(description.paths ?? {}, path);
  } catch {
    return false;
  }
}

/** One table per array of objects found in `body` (one level deep), captioned with its name. */
function tablesOf(body, prefix = "") {
  const tables = [];
  const visit = (value, name) => {
    if (Array.isArray(value) && value.every((row) => row !== null && typeof row === "object")) {
      tables.push(table(value, name));
      for (const row of value) {
        for (const [field, inner] of Object.entries(row)) {
          if (Array.isArray(inner)) visit(inner, `${rowName(row)} ${field}`);
        }
      }
    } else if (value !== null && typeof value === "object") {
      for (const [field, inner] of Object.entries(value)) visit(inner, `${name} ${field}`.trim());
    }
  };
  visit(body, prefix);
  if (tables.length === 0) {
    const text = document.createElement("pre");
    text.textContent = JSON.stringify(body, null, 2);
    tables.push(text);
  }
  return tables;
}

function rowName(row) {
  return String(row.name ?? row.id ?? row.model ?? row.key_id ?? "");
}

function table(rows, caption) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter(
    (column) => !rows.some((row) => Array.isArray(row[column])),
  );
  const element = document.createElement("table");
  const title = document.createElement("caption");
  title.textContent = caption;
  const head = document.createElement("tr");
  for (const column of columns) {
    const cell = document.createElement("th");
    cell.scope = "col";
    cell.textContent = column.replaceAll("_", " ");
    head.append(cell);
  }
  const headSection = document.createElement("thead");
  headSection.append(head);
  const bodySection = document.createElement("tbody");
  for (const row of rows) {
    const line = document.createElement("tr");
    for (const column of columns) {
      const cell = document.createElement("td");
      const value = row[column];
      cell.textContent =
        value === undefined || value === null
          ? ""
          : typeof value === "object"
            ? JSON.stringify(value)
            : String(value);
      line.append(cell);
    }
    bodySection.append(line);
  }
  element.append(title, headSection, bodySection);
  const scroll = document.createElement("div");
  scroll.className = "table-scroll";
  // Wide tables scroll sideways at phone width; the keyboard must be able to reach them.
  scroll.tabIndex = 0;
  scroll.setAttribute("role", "region");
  scroll.setAttribute("aria-label", caption);
  scroll.append(element);
  return scroll;
}
