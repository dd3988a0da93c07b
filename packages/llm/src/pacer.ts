// Keeps a minimum gap between moments, per key: a run's `delayMs` between two calls as the
// provider sees them. The LLM client takes a turn the moment before a request is handed to its
// connection (CallRequest.pace) and counts the next gap from when the hand-over is done (`sent`):
// whatever holds a request up after its turn then cannot bring the next one closer on the wire,
// so no margin is needed on top of the gap.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LimitStore } from './limits/store.js';

interface Lane {
  last: number;
  /** The gap of the last turn (the shared lane's `sent` pushes the next turn that far). */
  gapMs: number;
  /** The shared lane's last turn taken here. */
  token: string;
  chain: Promise<void>;
  /** Forgets the lane a minute after its last moment (keys are runs: they end). */
  expiry?: NodeJS.Timeout;
}

export class Pacer {
  private readonly lanes = new Map<string, Lane>();

  /**
   * `shared`: a store on Redis (several processes executing one run): the turns are taken there,
   * so the gap holds between the calls of every process. The lane here still orders this
   * process's calls, so it asks Redis for one turn at a time.
   */
  constructor(private readonly shared?: LimitStore) {}

  /** Resolves at least `gapMs` after the previous moment of `key`, in the order asked; rejects on abort. */
  next(key: string, gapMs: number, signal?: AbortSignal): Promise<void> {
    if (gapMs <= 0) return Promise.resolve();
    const known = this.lanes.get(key);
    const l: Lane = known ?? { last: -Infinity, gapMs, token: '', chain: Promise.resolve() };
    if (!known) this.lanes.set(key, l);
    l.gapMs = gapMs;
    const shared = this.shared?.shared ? this.shared : null;
    const turn = l.chain.then(async () => {
      if (shared) {
        const token = randomUUID();
        await takeSharedTurn(shared, key, gapMs, token, signal);
        l.token = token;
      } else await this.localTurn(l, gapMs, signal);
      l.last = performance.now();
      if (l.expiry) l.expiry.refresh();
      else l.expiry = setTimeout(() => this.lanes.get(key) === l && this.lanes.delete(key), gapMs + 60_000).unref();
    });
    l.chain = turn.catch(() => undefined);
    return turn;
  }

  private async localTurn(l: Lane, gapMs: number, signal?: AbortSignal): Promise<void> {
    // Timers fire a millisecond or more late, and late again under load: sleep to just short
    // of the moment, then yield to the event loop until it is due (other I/O runs meanwhile).
    // The moment is read afresh each time: `sent` may move the previous one later meanwhile.
    for (;;) {
      signal?.throwIfAborted();
      const wait = l.last + gapMs - performance.now();
      if (wait <= 0) break;
      if (wait > 2) await sleep(Math.floor(wait - 1), undefined, { signal });
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * The request let go by the last `next` of `key` has just been handed to its connection: the
   * next gap counts from here. Whatever held the write up after its turn (a collection, a busy thread) then cannot
   * bring the next request closer than the gap on the wire.
   */
  sent(key: string, handedOver = true): void {
    const l = this.lanes.get(key);
    if (!l) return;
    l.last = Math.max(l.last, performance.now());
    // Shared: only the hand-over lets the lane's next turn go (the turn's own moment is on Redis).
    // Not awaited: the next turn asked of this process goes on the same connection after it.
    if (handedOver && this.shared?.shared) this.shared.turnSent(key, l.gapMs, l.token).catch(() => undefined);
  }
}

/** Waits for a turn of the lane shared on Redis: asks, sleeps for what it answers, asks again. */
async function takeSharedTurn(
  store: LimitStore,
  key: string,
  gapMs: number,
  token: string,
  signal?: AbortSignal,
): Promise<void> {
  for (;;) {
    signal?.throwIfAborted();
    let wait: number;
    try {
      wait = await store.takeTurn(key, gapMs, token);
    } catch {
      return; // Redis is away: the call goes out unpaced rather than never (as the key limits do)
    }
    if (wait <= 0) return;
    if (wait > 2) await sleep(Math.floor(wait - 1), undefined, { signal });
    else await new Promise<void>((r) => setImmediate(r));
  }
}
