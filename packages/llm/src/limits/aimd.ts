// Adaptive concurrency of one provider key (AIMD): a 429 halves the calls it lets into flight,
// each success grows it back by one call per "window" of successes, up to its ceiling.

/** How long after a cut further 429s count as the same congestion (calls already in flight). */
const CUT_QUIET_MS = 1000;

export class AdaptiveConcurrency {
  private current: number;
  private credit = 0;
  private lastCut = -Infinity;

  constructor(private ceiling: number) {
    this.current = ceiling;
  }

  get limit(): number {
    return Math.max(1, Math.floor(this.current));
  }

  /** A new ceiling (the model's setting changed): never above it from now on. */
  setCeiling(ceiling: number): void {
    this.ceiling = ceiling;
    if (this.current > ceiling) this.current = ceiling;
  }

  /** A 429 while `inFlight` calls were out: halve from what was really in use, once per burst of them. */
  onRateLimited(inFlight: number, now: number = performance.now()): void {
    if (now - this.lastCut < CUT_QUIET_MS) return;
    this.lastCut = now;
    this.current = Math.max(1, Math.floor(Math.min(this.current, Math.max(inFlight, 1)) / 2));
    this.credit = 0;
  }

  onSuccess(): void {
    if (this.current >= this.ceiling) return;
    this.credit++;
    if (this.credit >= this.limit) {
      this.credit = 0;
      this.current = Math.min(this.ceiling, this.current + 1);
    }
  }
}
