import type { LlmCallEnd, LlmCallHandle, LlmCallObserver, LlmCallStart } from "../llm/llm-call-observer.ts";
import { noopLlmCallObserver } from "../llm/llm-call-observer.ts";

/** Called with whatever an observer threw; observers must never break the request path. */
export type ObserverFailureHandler = (error: unknown) => void;

/**
 * Several observers as one: each call is forwarded to every observer, and a failing observer is
 * reported and skipped rather than failing the model call.
 */
export function combineObservers(
  observers: readonly LlmCallObserver[],
  onFailure: ObserverFailureHandler = () => {},
): LlmCallObserver {
  if (observers.length === 0) return noopLlmCallObserver;
  return {
    start(call: LlmCallStart): LlmCallHandle {
      const handles: LlmCallHandle[] = [];
      for (const observer of observers) {
        try {
          handles.push(observer.start(call));
        } catch (error) {
          onFailure(error);
        }
      }
      return new CombinedHandle(handles, onFailure);
    },
  };
}

class CombinedHandle implements LlmCallHandle {
  readonly #handles: readonly LlmCallHandle[];
  readonly #onFailure: ObserverFailureHandler;

  constructor(handles: readonly LlmCallHandle[], onFailure: ObserverFailureHandler) {
    this.#handles = handles;
    this.#onFailure = onFailure;
  }

  chunk(): void {
    for (const handle of this.#handles) {
      try {
        handle.chunk();
      } catch (error) {
        this.#onFailure(error);
      }
    }
  }

  retry(reason: string): void {
    for (const handle of this.#handles) {
      try {
        handle.retry(reason);
      } catch (error) {
        this.#onFailure(error);
      }
    }
  }

  end(result: LlmCallEnd): void {
    for (const handle of this.#handles) {
      try {
        handle.end(result);
      } catch (error) {
        this.#onFailure(error);
      }
    }
  }

  upstreamHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const handle of this.#handles) {
      try {
        Object.assign(headers, handle.upstreamHeaders());
      } catch (error) {
        this.#onFailure(error);
      }
    }
    return headers;
  }
}
