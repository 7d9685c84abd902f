import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { ErrorCode } from "../errors/error-codes.ts";
import { ServiceError } from "../errors/service-error.ts";

/** Node's parser error codes, as the client should read them. */
const PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { code: "HEADERS_TOO_LARGE", message: "The request's headers are too large." },
  HPE_URI_TOO_LONG: { code: "URI_TOO_LONG", message: "The request's URL is too long." },
  ERR_HTTP_REQUEST_TIMEOUT: { code: "REQUEST_TIMEOUT", message: "The request took too long to arrive." },
};

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (malformed requests, a 64 KB
 * header) gets the service's JSON error body and an `x-request-id` like every other answer,
 * instead of Node's bare status line. No request was parsed, so the id is always a new one.
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  // Nothing can be written to a connection that is gone or was never fully open.
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const known = PARSER_ERRORS[error.code ?? ""];
  const serviceError = new ServiceError({
    code: known?.code ?? "BAD_REQUEST",
    message: known?.message ?? "The request is not valid HTTP.",
  });
  const requestId = randomUUID();
  const body = JSON.stringify({
    error: { code: serviceError.code, message: serviceError.message, request_id: requestId },
  });
  socket.write(
    `HTTP/1.1 ${serviceError.statusCode} ${STATUS_CODES[serviceError.statusCode]}\r\n` +
      "connection: close\r\n" +
      "content-type: application/json; charset=utf-8\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\n\r\n${body}`,
  );
  // Closed once the answer is written, not half-closed: a client that drips headers and never
  // reads would otherwise hold the connection open for as long as it likes.
  socket.destroySoon();
}
