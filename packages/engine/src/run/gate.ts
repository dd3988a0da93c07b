// The two execution rules of a run: at most `concurrency` calls in flight, and at least
// `delayMs` between two call starts. A caller holds a slot only while its call is in flight.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starts are spaced this much more than delayMs, so that the few tenths of a millisecond a
 * request may take more or less to reach the provider never bring two closer than delayMs there.
 */
const JITTER_MARGIN_MS = 0.5;

export class CallGate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private lastStart = -Infinity;
  private startChain: Promise<void> = Promise.resolve();

  constructor(
    readonly concurrency: number,
    readonly delayMs: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.active >= this.concurrency) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        this.waiters.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiters.shift()?.();
    };
  }

  /**
   * Call right before the call goes out (a slot held): starts are taken one after another, each
   * at least delayMs after the previous real start. Separate from `acquire` so that work between
   * taking a slot and calling (the started event's commit) does not eat into the gap.
   */
  spaceStart(signal: AbortSignal): Promise<void> {
    if (this.delayMs <= 0) return Promise.resolve();
    const turn = this.startChain.then(async () => {
      // Timers fire a millisecond or more late, and late again under load: sleep to just short
      // of the start, then yield to the event loop until it is due (other I/O runs meanwhile).
      const due = this.lastStart + this.delayMs + JITTER_MARGIN_MS;
      for (;;) {
        signal.throwIfAborted();
        const wait = due - performance.now();
        if (wait <= 0) break;
        if (wait > 2) await sleep(Math.floor(wait - 1), undefined, { signal });
        else await new Promise<void>((r) => setImmediate(r));
      }
      this.lastStart = performance.now();
    });
    this.startChain = turn.catch(() => undefined);
    return turn;
  }
}
