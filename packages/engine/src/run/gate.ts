// The two execution rules of a run: at most `concurrency` calls in flight, and at least
// `delayMs` between two call starts. A caller holds a slot only while its call is in flight.
import { Pacer } from '@batchlight/llm';

export class CallGate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  // Its callers read the clock a few microtasks after their turn: a margin keeps what they see.
  private readonly starts = new Pacer(0.5);

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
   * Call right before the call goes out (a slot held): calls are let go one after another, each
   * at least delayMs after the previous one. The LLM client keeps the gap once more the moment
   * the request is written (CallRequest.pace), where the provider sees it; letting calls go here
   * keeps a long queue waiting in the engine, not inside a call's timeout. Separate from
   * `acquire` so that work between taking a slot and calling (the started event's commit) does
   * not eat into the gap.
   */
  spaceStart(signal: AbortSignal): Promise<void> {
    return this.starts.next('start', this.delayMs, signal);
  }
}
