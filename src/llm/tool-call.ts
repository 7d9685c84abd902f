/** A function call the model asked for, with its arguments as the JSON text the model wrote. */
export type ToolCall = Readonly<{ id: string; name: string; arguments: string }>;

/**
 * A piece of a streamed tool call. The first piece of each call carries its `id` and `name`; later
 * pieces only add to its arguments. `index` counts the calls of one reply from 0, in the order
 * they started, as OpenAI's `tool_calls[].index` does.
 */
export type ToolCallDelta = Readonly<{
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}>;
