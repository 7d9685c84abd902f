import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import { isPrintableText, PRINTABLE_FORMAT } from "../printable-text.ts";

function createAjv(coerceTypes: boolean | "array"): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: true,
    allErrors: false,
    strict: false,
  });
  addFormats.default(ajv);
  ajv.addFormat(PRINTABLE_FORMAT, { type: "string", validate: isPrintableText });
  return ajv;
}

/**
 * Query strings and path parameters arrive as text, so they are coerced (`?limit=10`); bodies are
 * JSON and are not, so `{"message": 123}` is a 400 rather than the string "123".
 */
export function createValidatorCompiler(): FastifySchemaCompiler<object> {
  const forBodies = createAjv(false);
  const forText = createAjv("array");
  return ({ schema, httpPart }) => (httpPart === "body" ? forBodies : forText).compile(schema);
}
