/** Reads a variable of the environment the service started with; undefined when unset or empty. */
export type VariableReader = (name: string) => string | undefined;

/** Where expansion failed: the field's path and why. */
export type ExpansionProblem = Readonly<{ field: string; problem: string }>;

const REFERENCE = /\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` in every string of a parsed file by the variable's value. Nothing else is
 * expanded (no defaults, no commands), so a file means the same on every machine that sets the
 * same variables; an unset variable is a problem, never an empty string.
 */
export function expandVariables(
  value: unknown,
  read: VariableReader,
  field = "",
): { value: unknown } | { problem: ExpansionProblem } {
  if (typeof value === "string") {
    let problem: ExpansionProblem | undefined;
    const expanded = value.replace(REFERENCE, (whole, name: string) => {
      if (problem !== undefined) return whole;
      if (!NAME.test(name)) {
        problem = { field, problem: `"${whole}" is not a variable reference; only \${NAME} is expanded` };
        return whole;
      }
      const variable = read(name);
      if (variable === undefined) {
        problem = { field, problem: `the environment variable ${name} is not set` };
        return whole;
      }
      return variable;
    });
    return problem === undefined ? { value: expanded } : { problem };
  }
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const [index, item] of value.entries()) {
      const result = expandVariables(item, read, `${field}[${index}]`);
      if ("problem" in result) return result;
      items.push(result.value);
    }
    return { value: items };
  }
  if (typeof value === "object" && value !== null) {
    const entries: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const result = expandVariables(item, read, field.length > 0 ? `${field}.${key}` : key);
      if ("problem" in result) return result;
      entries[key] = result.value;
    }
    return { value: entries };
  }
  return { value };
}
