/**
 * A problem in the models file: one line naming the file, the field's path
 * (`models[0].deployments[1].base_url`) and what is wrong with it.
 */
export class CatalogError extends Error {
  readonly file: string;
  readonly field: string;
  readonly problem: string;
  constructor(file: string, field: string, problem: string) {
    super(`${file}: ${field.length > 0 ? `${field}: ` : ""}${problem}`);
    this.name = "CatalogError";
    this.file = file;
    this.field = field;
    this.problem = problem;
  }
}
