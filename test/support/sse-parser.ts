export type ServerSentEvent = { event: string; data: string; id: string };

/**
 * The event stream parsing algorithm of the HTML specification, fed chunk by chunk: CR, LF and
 * CRLF end lines, one space after the colon is dropped, data lines join with LF, an event with
 * no data is not dispatched, comments are kept aside so tests can see pings.
 */
export class SseParser {
  readonly events: ServerSentEvent[] = [];
  readonly comments: string[] = [];
  #buffer = "";
  #first = true;
  #event = "";
  #data = "";
  #hasData = false;
  #id = "";
  #pendingCarriageReturn = false;

  push(chunk: string): ServerSentEvent[] {
    let text = chunk;
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR at the end of the previous chunk already ended its line; an LF right after it is part of that.
    if (this.#pendingCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.#pendingCarriageReturn = false;
    this.#buffer += text;
    const dispatched: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (match === null) break;
      if (match[0] === "\r" && match.index === this.#buffer.length - 1) {
        this.#pendingCarriageReturn = true;
      }
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const event = this.#line(line);
      if (event !== undefined) dispatched.push(event);
    }
    this.events.push(...dispatched);
    return dispatched;
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) {
      this.comments.push(line.slice(1).trimStart());
      return undefined;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.#event = value;
    else if (field === "data") {
      this.#data += `${value}\n`;
      this.#hasData = true;
    } else if (field === "id" && !value.includes("\0")) this.#id = value;
    return undefined;
  }

  #dispatch(): ServerSentEvent | undefined {
    const hasData = this.#hasData;
    const event = { event: this.#event || "message", data: this.#data.slice(0, -1), id: this.#id };
    this.#data = "";
    this.#hasData = false;
    this.#event = "";
    if (!hasData) return undefined;
    return event;
  }
}

/** Every event of a complete stream. */
export function parseSse(text: string): { events: ServerSentEvent[]; comments: string[] } {
  const parser = new SseParser();
  parser.push(text);
  return { events: parser.events, comments: parser.comments };
}
