import { type ResourceLimits, Worker } from "node:worker_threads";
import {
  reviveWorkerError,
  type WorkerFailure,
  type WorkerReply,
  type WorkerRequest,
} from "./worker-protocol.ts";

export type WorkerPoolOptions = {
  /** The worker's module, e.g. `new URL("./x-worker.ts", import.meta.url)`; it calls `serveWorkerRequests`. */
  url: URL;
  /** Threads at most; a task waits for a free one. */
  size: number;
  workerData?: unknown;
  /** Idle threads exit after this long (a pool used now and then holds no thread between uses). */
  idleTimeoutMs?: number;
  /** Unreferenced threads never keep the process alive (a pool nobody closes). */
  unref?: boolean;
  /** Each thread's heap limits: a task that needs more ends its own thread, not the process. */
  resourceLimits?: ResourceLimits;
};

export type RunOptions = {
  /**
   * The task's whole budget, waiting for a thread included. Past it the task is rejected with
   * `onTimeout()`, and a thread still running it is terminated and replaced.
   */
  timeoutMs?: number;
  onTimeout?: () => Error;
};

type Task = {
  request: WorkerRequest;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  thread: PoolThread | undefined;
};

type PoolThread = { worker: Worker; task: Task | undefined; idleTimer: NodeJS.Timeout | undefined };

/** The pool has been closed; nothing more runs on it. */
export class WorkerPoolClosedError extends Error {
  constructor() {
    super("the worker pool is closed");
    this.name = "WorkerPoolClosedError";
  }
}

/**
 * A few `node:worker_threads` threads that run synchronous work (SQLite queries, text extraction)
 * off the event loop. One task per thread at a time, first come first served; a task past its
 * budget gets its thread terminated, so a runaway query cannot keep holding it.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #threads = new Set<PoolThread>();
  readonly #waiting: Task[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!(options.size >= 1)) throw new RangeError("a worker pool needs at least one thread");
    this.#options = options;
  }

  /** Runs `method(...args)` in a thread and answers its result (structured-cloned). */
  run<T>(method: string, args: readonly unknown[], options: RunOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new WorkerPoolClosedError());
    return new Promise<T>((resolve, reject) => {
      const task: Task = {
        request: { id: this.#nextId++, method, args },
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        thread: undefined,
      };
      if (options.timeoutMs !== undefined) {
        task.timer = setTimeout(() => this.#expire(task, options.onTimeout), options.timeoutMs);
      }
      this.#waiting.push(task);
      this.#dispatch();
    });
  }

  /** Terminates every thread; tasks not finished are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const task of this.#waiting.splice(0)) this.#settle(task, new WorkerPoolClosedError());
    const threads = [...this.#threads];
    this.#threads.clear();
    for (const thread of threads) {
      clearTimeout(thread.idleTimer);
      if (thread.task) this.#settle(thread.task, new WorkerPoolClosedError());
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const thread = this.#idleThread() ?? this.#startThread();
      if (thread === undefined) return;
      const task = this.#waiting.shift() as Task;
      clearTimeout(thread.idleTimer);
      thread.idleTimer = undefined;
      thread.task = task;
      task.thread = thread;
      if (this.#options.unref) thread.worker.ref();
      thread.worker.postMessage(task.request);
    }
  }

  #idleThread(): PoolThread | undefined {
    for (const thread of this.#threads) if (thread.task === undefined) return thread;
    return undefined;
  }

  #startThread(): PoolThread | undefined {
    if (this.#threads.size >= this.#options.size) return undefined;
    const worker = new Worker(this.#options.url, {
      workerData: this.#options.workerData,
      resourceLimits: this.#options.resourceLimits,
    });
    const thread: PoolThread = { worker, task: undefined, idleTimer: undefined };
    this.#threads.add(thread);
    worker.on("message", (reply: WorkerReply) => this.#finish(thread, reply));
    worker.on("error", (error) => this.#lose(thread, error));
    worker.on("exit", (code) => this.#lose(thread, new Error(`a worker thread exited with code ${code}`)));
    return thread;
  }

  #finish(thread: PoolThread, reply: WorkerReply): void {
    const task = thread.task;
    if (task === undefined || task.request.id !== reply.id) return;
    thread.task = undefined;
    task.thread = undefined;
    if (reply.ok) this.#settle(task, undefined, reply.value);
    else this.#settle(task, reviveWorkerError(reply.error as WorkerFailure));
    this.#rest(thread);
    this.#dispatch();
  }

  /** An idle thread: unreferenced again, and ended after the idle timeout. */
  #rest(thread: PoolThread): void {
    if (this.#options.unref) thread.worker.unref();
    if (this.#options.idleTimeoutMs === undefined) return;
    thread.idleTimer = setTimeout(() => this.#retire(thread), this.#options.idleTimeoutMs);
    thread.idleTimer.unref();
  }

  /** A thread that died or was terminated: its task fails, and a new thread takes the queue on. */
  #lose(thread: PoolThread, error: unknown): void {
    if (!this.#threads.delete(thread)) return;
    clearTimeout(thread.idleTimer);
    if (thread.task) this.#settle(thread.task, error);
    if (!this.#closed) this.#dispatch();
  }

  #retire(thread: PoolThread): void {
    if (thread.task !== undefined || !this.#threads.delete(thread)) return;
    thread.worker.terminate().catch(() => {});
  }

  #expire(task: Task, onTimeout: RunOptions["onTimeout"]): void {
    task.timer = undefined;
    const error = onTimeout?.() ?? new Error(`task ${task.request.method} ran out of time`);
    const waiting = this.#waiting.indexOf(task);
    if (waiting >= 0) this.#waiting.splice(waiting, 1);
    const thread = task.thread;
    this.#settle(task, error);
    if (thread === undefined) return;
    // The thread may be deep in a query: terminate it (it stops at its next JavaScript call) and
    // let a fresh one serve the queue at once, rather than wait for it to exit.
    this.#threads.delete(thread);
    thread.task = undefined;
    thread.worker.terminate().catch(() => {});
    // Its replacement starts now, so the next task does not pay for starting a thread.
    const replacement = this.#startThread();
    if (replacement !== undefined) this.#rest(replacement);
    this.#dispatch();
  }

  #settle(task: Task, error: unknown, value?: unknown): void {
    clearTimeout(task.timer);
    task.timer = undefined;
    const { resolve, reject } = task;
    task.resolve = () => {};
    task.reject = () => {};
    if (error === undefined) resolve(value);
    else reject(error);
  }
}
