/**
 * Waits until `wake.fn` is called or `timeoutMs` passes (true), or the signal aborts (false).
 * Subscriptions use it to sleep between bursts of events without polling.
 */
export function nextEvent(
  wake: { fn: null | (() => void) },
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      wake.fn = null;
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), timeoutMs);
    wake.fn = () => done(true);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
