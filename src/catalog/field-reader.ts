import { isPrintableText, NOT_PRINTABLE } from "../printable-text.ts";
import { CatalogError } from "./catalog-error.ts";

/** Turns a field's path in the models format into the path of the file as written (LiteLLM's). */
export type LocateField = (field: string) => string;

/**
 * Reads one object of the parsed file, field by field; every problem is a CatalogError naming the
 * file and the field's path. Fields it was not asked for are refused, so a typo is not ignored.
 */
export class FieldReader {
  readonly path: string;
  readonly #file: string;
  readonly #locate: LocateField;
  readonly #value: Record<string, unknown>;

  constructor(file: string, path: string, value: unknown, locate: LocateField) {
    this.#file = file;
    this.path = path;
    this.#locate = locate;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw this.problemAt(path, `must be a mapping, got ${describe(value)}`);
    }
    this.#value = value as Record<string, unknown>;
  }

  /** A CatalogError for `field` (a path inside the file). */
  problemAt(field: string, problem: string): CatalogError {
    return new CatalogError(this.#file, this.#locate(field), problem);
  }

  fieldPath(key: string): string {
    return this.path.length > 0 ? `${this.path}.${key}` : key;
  }

  problem(key: string, problem: string): CatalogError {
    return this.problemAt(this.fieldPath(key), problem);
  }

  has(key: string): boolean {
    return this.#value[key] !== undefined && this.#value[key] !== null;
  }

  raw(key: string): unknown {
    return this.#value[key];
  }

  /** Refuses every field but `known`. */
  only(known: readonly string[]): void {
    for (const key of Object.keys(this.#value)) {
      if (!known.includes(key)) throw this.problem(key, `unknown field; expected one of ${known.join(", ")}`);
    }
  }

  string(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const value = this.#value[key];
    if (typeof value !== "string" || value.trim().length === 0) {
      throw this.problem(key, `must be a non-empty string, got ${describe(value)}`);
    }
    // Model names, aliases and deployment ids become headers, log fields, metric labels and ledger
    // rows, as a client's model names do. The value is not shown: it may be a key.
    if (!isPrintableText(value.trim())) throw this.problem(key, NOT_PRINTABLE);
    return value.trim();
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === undefined) throw this.problem(key, "is required");
    return value;
  }

  oneOf<const T extends readonly string[]>(key: string, choices: T): T[number] | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (!choices.includes(value)) {
      throw this.problem(key, `must be one of ${choices.join(", ")}, got "${value}"`);
    }
    return value;
  }

  number(
    key: string,
    bounds: { min: number; exclusiveMin?: boolean; integer?: boolean },
  ): number | undefined {
    if (!this.has(key)) return undefined;
    const value = this.#value[key];
    const kind = bounds.integer ? "an integer" : "a number";
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      (bounds.integer && !Number.isInteger(value))
    ) {
      throw this.problem(key, `must be ${kind}, got ${describe(value)}`);
    }
    if (bounds.exclusiveMin ? value <= bounds.min : value < bounds.min) {
      throw this.problem(
        key,
        `must be ${bounds.exclusiveMin ? "above" : "at least"} ${bounds.min}, got ${value}`,
      );
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const value = this.#value[key];
    if (typeof value !== "boolean") throw this.problem(key, `must be true or false, got ${describe(value)}`);
    return value;
  }

  url(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (!URL.canParse(value)) throw this.problem(key, `must be an absolute URL, got "${value}"`);
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw this.problem(key, `must be an http or https URL, got "${value}"`);
    }
    if (url.username !== "" || url.password !== "") {
      throw this.problem(key, "must not carry credentials; put the key in api_key");
    }
    return value;
  }

  strings(key: string): string[] {
    if (!this.has(key)) return [];
    const value = this.#value[key];
    if (!Array.isArray(value)) throw this.problem(key, `must be a list of names, got ${describe(value)}`);
    return value.map((item, index) => {
      if (typeof item !== "string" || item.trim().length === 0) {
        throw this.problemAt(
          `${this.fieldPath(key)}[${index}]`,
          `must be a non-empty string, got ${describe(item)}`,
        );
      }
      if (!isPrintableText(item.trim()))
        throw this.problemAt(`${this.fieldPath(key)}[${index}]`, NOT_PRINTABLE);
      return item.trim();
    });
  }

  /** A list field: each item with its own reader. */
  list(key: string, options: { required: boolean }): FieldReader[] {
    if (!this.has(key)) {
      if (options.required) throw this.problem(key, "is required");
      return [];
    }
    const value = this.#value[key];
    if (!Array.isArray(value)) throw this.problem(key, `must be a list, got ${describe(value)}`);
    if (options.required && value.length === 0) throw this.problem(key, "must not be empty");
    return value.map((item, index) => this.#child(`${this.fieldPath(key)}[${index}]`, item));
  }

  /** A mapping field, or undefined when absent. */
  object(key: string): FieldReader | undefined {
    return this.has(key) ? this.#child(this.fieldPath(key), this.#value[key]) : undefined;
  }

  #child(path: string, value: unknown): FieldReader {
    return new FieldReader(this.#file, path, value, this.#locate);
  }
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${String(value)}`;
}
