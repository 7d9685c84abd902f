/** Thrown by `reportProgress` (and seen through `signal`) once a job is cancelled. */
export class JobCancelledError extends Error {
  constructor() {
    super("The job was cancelled.");
    this.name = "JobCancelledError";
  }
}
