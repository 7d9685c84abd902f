/** The fields of our JSON replies that tests read: a chat reply or an error envelope. */
export type ReplyBody = {
  reply: string;
  model: string;
  error: { code: string; message: string } & Record<string, unknown>;
};

export async function readJson(response: Response): Promise<ReplyBody> {
  return (await response.json()) as ReplyBody;
}
