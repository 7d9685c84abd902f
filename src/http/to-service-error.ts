import type { FastifyError } from "fastify";
import { ServiceError } from "../errors/service-error.ts";
import { NOT_PRINTABLE, PRINTABLE_FORMAT } from "../printable-text.ts";

/** Fastify's own error codes, mapped to ours so every client sees one catalog. */
const fastifyCodes: Record<string, (error: FastifyError) => ServiceError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: (error) =>
    new ServiceError({ code: "INVALID_JSON", message: "The request body is not valid JSON.", cause: error }),
  FST_ERR_CTP_EMPTY_JSON_BODY: (error) =>
    new ServiceError({
      code: "INVALID_JSON",
      message: "The request body is empty but its content-type is application/json.",
      cause: error,
    }),
  FST_ERR_CTP_BODY_TOO_LARGE: (error) =>
    new ServiceError({ code: "BODY_TOO_LARGE", message: "The request body is too large.", cause: error }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: (error) =>
    new ServiceError({
      code: "INVALID_JSON",
      message: "The request body does not match its content-length.",
      cause: error,
    }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (error) =>
    new ServiceError({
      code: "UNSUPPORTED_MEDIA_TYPE",
      message: "Unsupported content-type: send application/json.",
      cause: error,
    }),
};

/** Any thrown value to the ServiceError the client will see; unknown failures become a bare 500. */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const fastifyError = error as FastifyError & { validation?: ValidationIssue[] };
  if (fastifyError?.validation) return fromValidation(fastifyError, fastifyError.validation);
  const mapped = typeof fastifyError?.code === "string" ? fastifyCodes[fastifyError.code] : undefined;
  if (mapped) return mapped(fastifyError);
  // secure-json-parse rejects __proto__ / constructor.prototype keys with a SyntaxError and a 400.
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new ServiceError({
      code: "INVALID_JSON",
      message: "The request body is not valid JSON.",
      cause: error,
    });
  }
  if (fastifyError?.statusCode === 413) {
    return new ServiceError({
      code: "BODY_TOO_LARGE",
      message: "The request body is too large.",
      cause: error,
    });
  }
  return new ServiceError({ code: "INTERNAL_ERROR", message: "Internal server error.", cause: error });
}

type ValidationIssue = {
  instancePath: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; format?: string };
};

function fromValidation(error: FastifyError, issues: ValidationIssue[]): ServiceError {
  const issue = issues[0];
  const location = (error as { validationContext?: string }).validationContext ?? "body";
  const missing = issue?.params?.missingProperty ?? issue?.params?.additionalProperty;
  const field = [issue?.instancePath.replace(/^\//, "").replaceAll("/", "."), missing]
    .filter(Boolean)
    .join(".");
  const message = issue?.params?.missingProperty
    ? `${location}.${field} is required`
    : issue?.params?.additionalProperty
      ? `${location}.${field} is not allowed`
      : `${location}${field ? `.${field}` : ""} ${
          issue?.params?.format === PRINTABLE_FORMAT ? NOT_PRINTABLE : (issue?.message ?? "is invalid")
        }`;
  return new ServiceError({ code: "VALIDATION_FAILED", message, param: field || undefined, cause: error });
}
