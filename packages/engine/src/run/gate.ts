// The two execution rules of a run: at most `concurrency` calls in flight, and at least
// `delayMs` between two call starts. A caller holds a slot only while its call is in flight.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starts are spaced this much more than delayMs, so that the few tenths of a millisecond a
 * request may take more or less to reach the provider never bring two closer than delayMs there.
 */
const JITTER_MARGIN_MS = 0.5;

/** Hands out moments at least `gapMs` apart, one after another, in the order they are asked for. */
class Spacer {
  private last = -Infinity;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly gapMs: number) {}

  next(signal: AbortSignal): Promise<void> {
    if (this.gapMs <= 0) return Promise.resolve();
    const turn = this.chain.then(async () => {
      // Timers fire a millisecond or more late, and late again under load: sleep to just short
      // of the moment, then yield to the event loop until it is due (other I/O runs meanwhile).
      const due = this.last + this.gapMs + JITTER_MARGIN_MS;
      for (;;) {
        signal.throwIfAborted();
        const wait = due - performance.now();
        if (wait <= 0) break;
        if (wait > 2) await sleep(Math.floor(wait - 1), undefined, { signal });
        else await new Promise<void>((r) => setImmediate(r));
      }
      this.last = performance.now();
    });
    this.chain = turn.catch(() => undefined);
    return turn;
  }
}

export class CallGate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly starts: Spacer;
  private readonly sends: Spacer;

  constructor(
    readonly concurrency: number,
    readonly delayMs: number,
  ) {
    this.starts = new Spacer(delayMs);
    this.sends = new Spacer(delayMs);
  }
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
   * at least delayMs after the previous one. Separate from `acquire` so that work between taking
   * a slot and calling (the started event's commit) does not eat into the gap.
   */
  spaceStart(signal: AbortSignal): Promise<void> {
    return this.starts.next(signal);
  }

  /**
   * Called by the LLM client the moment before the request is written to its socket
   * (CallRequest.beforeSend). The way from `spaceStart` to the socket (the SDK building the
   * request, a commit or a collection in between) takes longer for one call than the next, so
   * the gap is kept once more here, where the provider will see it. It waits long only when a
   * request was held up on its way out.
   */
  spaceSend(signal: AbortSignal): Promise<void> {
    return this.sends.next(signal);
  }
}
