// Keeps a minimum gap between moments, per key: the engine's `delayMs` between two call starts
// of a run. The LLM client applies it the moment before a request is written to the socket
// (CallRequest.pace), where the provider will see it; the engine also lets calls go by it, so
// that a long queue waits in the engine rather than inside a call's timeout.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Moments are spaced this much more than the gap, so that the few tenths of a millisecond a
 * request may take more or less to reach the provider never bring two closer than the gap there.
 */
const JITTER_MARGIN_MS = 0.5;

interface Lane {
  last: number;
  chain: Promise<void>;
  /** Forgets the lane a minute after its last moment (keys are runs: they end). */
  expiry?: NodeJS.Timeout;
}

export class Pacer {
  private readonly lanes = new Map<string, Lane>();

  /** Resolves at least `gapMs` after the previous moment of `key`, in the order asked; rejects on abort. */
  next(key: string, gapMs: number, signal?: AbortSignal): Promise<void> {
    if (gapMs <= 0) return Promise.resolve();
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { last: -Infinity, chain: Promise.resolve() }));
    const l = lane;
    const turn = l.chain.then(async () => {
      // Timers fire a millisecond or more late, and late again under load: sleep to just short
      // of the moment, then yield to the event loop until it is due (other I/O runs meanwhile).
      const due = l.last + gapMs + JITTER_MARGIN_MS;
      for (;;) {
        signal?.throwIfAborted();
        const wait = due - performance.now();
        if (wait <= 0) break;
        if (wait > 2) await sleep(Math.floor(wait - 1), undefined, { signal });
        else await new Promise<void>((r) => setImmediate(r));
      }
      l.last = performance.now();
      if (l.expiry) l.expiry.refresh();
      else l.expiry = setTimeout(() => this.lanes.get(key) === l && this.lanes.delete(key), gapMs + 60_000).unref();
    });
    l.chain = turn.catch(() => undefined);
    return turn;
  }
}
