import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { Catalog } from "./catalog.ts";
import { CatalogError } from "./catalog-error.ts";
import { expandVariables } from "./expand-variables.ts";
import { readCatalog } from "./read-catalog.ts";
import { translateLiteLLMConfig } from "./translate-litellm-config.ts";

export type CatalogEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the models file (YAML or JSON; the models format or a LiteLLM proxy
 * `config.yaml`). Throws a CatalogError whose message is one line: the file, the field, the problem.
 */
export function loadCatalog(file: string, environment: CatalogEnvironment): Catalog {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CatalogError(
      file,
      "",
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return parseCatalog(file, text, environment);
}

/** The same from the file's text, for a caller that already read it. */
export function parseCatalog(file: string, text: string, environment: CatalogEnvironment): Catalog {
  const read = (name: string) => {
    const value = environment[name];
    return value === undefined || value === "" ? undefined : value;
  };
  const parsed = parseText(file, text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CatalogError(file, "", "must be a mapping with `models` (or LiteLLM's `model_list`)");
  }
  if ("model_list" in parsed) {
    const translated = translateLiteLLMConfig(file, parsed as Record<string, unknown>, read);
    return readCatalog(translated.models, {
      file,
      format: "litellm",
      locate: translated.locate,
      warnings:
        translated.unsupported.length === 0
          ? []
          : [
              `${file}: LiteLLM keys this service does not support are ignored: ${translated.unsupported.join(", ")}`,
            ],
    });
  }
  const expanded = expandVariables(parsed, read);
  if ("problem" in expanded) throw new CatalogError(file, expanded.problem.field, expanded.problem.problem);
  return readCatalog(expanded.value, { file, format: "models" });
}

function parseText(file: string, text: string): unknown {
  if (file.endsWith(".json")) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new CatalogError(file, "", `is not valid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      // The message's first line says what and where; the code frame below it would break the line.
      const reason = error.message.split("\n")[0].replace(/:$/, "");
      throw new CatalogError(file, "", `is not valid YAML: ${reason}`);
    }
    throw error;
  }
}
