// The first execution rule of a run: at most `concurrency` calls in flight. A caller holds a slot
// only while its call is in flight. The second, at least `delayMs` between two calls, is the LLM
// client's to keep (CallRequest.pace), where the requests are written.

/** What holds a run's calls in flight to its concurrency: this process's CallGate, or slots on Redis. */
export interface Gate {
  readonly inFlight: number;
  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<() => void>;
}

export class CallGate implements Gate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly concurrency: number) {}
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
}
