/**
 * Waits for `work` until it settles or `timeoutMs` passes, whichever comes first: true when `work`
 * settled in time. A rejection of `work` is passed on. The timer is cleared either way; with
 * `unref` it does not keep the process alive by itself (a shutdown must not wait on its deadline).
 */
export async function settledWithin(
  work: Promise<unknown>,
  timeoutMs: number,
  options: { unref?: boolean } = {},
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    if (options.unref) timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
