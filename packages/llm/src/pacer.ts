// Keeps a minimum gap between moments, per key: the engine's `delayMs` between two call starts
// of a run. The LLM client applies it the moment before a request is written to the socket
// (CallRequest.pace), where the provider will see it, and counts the next gap from when the write
// is done (`sent`); the engine also lets calls go by it, so that a long queue waits in the engine
// rather than inside a call's timeout.
//
// The client needs no margin on top of the gap: counted from the end of the write, the gap holds on
// the wire by construction (B6, tcpdump on lo: min 20.18-20.28 ms for delayMs 20). A margin of
// 0.5 ms counted from the turn instead gave gaps down to 17.5 ms when a write was held up after it.
import { setTimeout as sleep } from 'node:timers/promises';

interface Lane {
  last: number;
  chain: Promise<void>;
  /** Forgets the lane a minute after its last moment (keys are runs: they end). */
  expiry?: NodeJS.Timeout;
}

export class Pacer {
  private readonly lanes = new Map<string, Lane>();

  /**
   * `marginMs` spaces moments that much more than the gap: for a caller that cannot say when its
   * request went out (no `sent`), so that the microtasks between its turn and its own clock
   * reading never show less than the gap.
   */
  constructor(private readonly marginMs = 0) {}

  /** Resolves at least `gapMs` after the previous moment of `key`, in the order asked; rejects on abort. */
  next(key: string, gapMs: number, signal?: AbortSignal): Promise<void> {
    if (gapMs <= 0) return Promise.resolve();
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { last: -Infinity, chain: Promise.resolve() }));
    const l = lane;
    const turn = l.chain.then(async () => {
      // Timers fire a millisecond or more late, and late again under load: sleep to just short
      // of the moment, then yield to the event loop until it is due (other I/O runs meanwhile).
      // The moment is read afresh each time: `sent` may move the previous one later meanwhile.
      for (;;) {
        signal?.throwIfAborted();
        const wait = l.last + gapMs + this.marginMs - performance.now();
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

  /**
   * The request let go by the last `next` of `key` has just been written: the next gap counts from
   * here. Whatever held the write up after its turn (a collection, a busy thread) then cannot
   * bring the next request closer than the gap on the wire.
   */
  sent(key: string): void {
    const l = this.lanes.get(key);
    if (l) l.last = Math.max(l.last, performance.now());
  }
}
