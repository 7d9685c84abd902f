/** An `error` object an upstream sent inside its stream (its `cause`); never shown to clients. */
export class UpstreamStreamError extends Error {
  constructor(detail: unknown) {
    super("The model provider sent an error in its stream.", { cause: detail });
    this.name = "UpstreamStreamError";
  }
}
