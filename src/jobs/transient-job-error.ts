/** A failure worth retrying (a timeout, an upstream 503) whose message is fit for the client. */
export class TransientJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransientJobError";
  }
}
