// One provider key's limiter, shared by every call made with that key in this process (and, with
// Redis, counted with every other process): requests and tokens per minute, a pause after a 429,
// adaptive concurrency, and calls let go in turn by run. A call waits for its turn here; it is
// never failed for the limit.
import { setTimeout as sleep } from 'node:timers/promises';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { HeadersLike } from '../errors.js';
import type { RateLimitSettings, RateLimitState } from '../types.js';
import { AdaptiveConcurrency } from './aimd.js';
import { FairQueue } from './fair-queue.js';
import { announcedLimits } from './headers.js';
import type { LimitKey } from './key.js';
import type { LimitStore } from './store.js';

/** Ceiling of the adaptive concurrency when the model sets none (a run's own cap is 256). */
export const UNSET_KEY_CONCURRENCY = 1024;
/** Pause after a 429 that does not say how long. */
const DEFAULT_PAUSE_MS = 1000;
/** How often a process says it calls with a key, and asks how many do (shared store). */
const PEERS_EVERY_MS = 1000;
/** A lane hears of its wait at most this often (events are recorded). */
const REPORT_EVERY_MS = 1000;

interface Waiter {
  lane: string;
  tokens: number;
  resolve: (permit: Permit) => void;
  reject: (reason: unknown) => void;
  onState?: (state: RateLimitState) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** What the call's end tells the limiter. */
export interface CallEnd {
  status: number | null;
  headers: HeadersLike;
  rateLimited: boolean;
  retryAfterMs: number | null;
  ok: boolean;
  /** Tokens the call really used (input + output), when the provider said. */
  tokens: number | null;
}

export interface Permit {
  /** Once, when the call has ended. */
  release(end: CallEnd): void;
}

export class KeyLimiter {
  private readonly queue = new FairQueue<Waiter>();
  private readonly aimd: AdaptiveConcurrency;
  private inFlight = 0;
  private pumping = false;
  /** When this process may let the next call go (calls spaced evenly at the rate). */
  private nextSendAt = Number.NEGATIVE_INFINITY;
  /** Processes calling with this key (shared store), and when that was last asked. */
  private peers = 1;
  private peersAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private learned: { requestsPerMinute: number | null; tokensPerMinute: number | null } = {
    requestsPerMinute: null,
    tokensPerMinute: null,
  };
  private requests: { perMinute: number; counter: RateLimiterAbstract; gapMs: number } | null = null;
  private tokens: { perMinute: number; counter: RateLimiterAbstract } | null = null;
  private readonly reportedAt = new Map<string, number>();
  /** Last time this key was used: the registry forgets idle keys. */
  lastUsed = Date.now();

  get idle(): boolean {
    return this.inFlight === 0 && this.queue.size === 0 && !this.pumping;
  }

  constructor(
    readonly key: LimitKey,
    private settings: RateLimitSettings,
    private readonly store: LimitStore,
  ) {
    this.aimd = new AdaptiveConcurrency(settings.concurrency ?? UNSET_KEY_CONCURRENCY);
    this.configure();
  }

  /** The model's settings (the latest call's: a run's snapshot may differ from the registry's). */
  update(settings: RateLimitSettings): void {
    const s = this.settings;
    const same = (a: number | null | undefined, b: number | null | undefined) => (a ?? null) === (b ?? null);
    if (
      same(s.requestsPerMinute, settings.requestsPerMinute) &&
      same(s.tokensPerMinute, settings.tokensPerMinute) &&
      same(s.concurrency, settings.concurrency)
    )
      return;
    this.settings = settings;
    this.aimd.setCeiling(settings.concurrency ?? UNSET_KEY_CONCURRENCY);
    this.configure();
  }

  /** Settings win over what the provider announced. */
  private configure(): void {
    const rpm = this.settings.requestsPerMinute ?? this.learned.requestsPerMinute;
    const tpm = this.settings.tokensPerMinute ?? this.learned.tokensPerMinute;
    if (rpm == null) this.requests = null;
    else if (this.requests?.perMinute !== rpm) {
      // Windows of a second or more, each allowing its share of the minute (counted across
      // processes on Redis); this process also lets its calls go evenly spaced at the rate (at its
      // share of it when several processes call with the key), so a window's allowance never
      // leaves as one burst, nor crowds where two windows meet.
      const durationSec = Math.max(1, Math.ceil(60 / rpm));
      const points = Math.max(1, Math.floor((rpm * durationSec) / 60));
      const counter = this.store.counter(`req:${this.key.id}:${points}/${durationSec}`, points, durationSec);
      this.requests = { perMinute: rpm, counter, gapMs: (durationSec * 1000) / points };
    }
    if (tpm == null) this.tokens = null;
    else if (this.tokens?.perMinute !== tpm) {
      this.tokens = { perMinute: tpm, counter: this.store.counter(`tok:${this.key.id}:${tpm}`, tpm, 60) };
    }
  }

  /** Resolves when the call may go out; rejects only if `signal` stops its wait. */
  acquire(lane: string, tokens: number, signal?: AbortSignal, onState?: (s: RateLimitState) => void): Promise<Permit> {
    this.lastUsed = Date.now();
    return new Promise<Permit>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const w: Waiter = { lane, tokens, resolve, reject, onState, signal };
      if (signal) {
        w.onAbort = () => {
          if (this.queue.remove(lane, w)) reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(lane, w);
      void this.pump();
    });
  }

  state(waitMs = 0): RateLimitState {
    const now = Date.now();
    return {
      key: this.key.label,
      requestsPerMinute: this.requests?.perMinute ?? null,
      tokensPerMinute: this.tokens?.perMinute ?? null,
      learned:
        (this.settings.requestsPerMinute == null && this.learned.requestsPerMinute != null) ||
        (this.settings.tokensPerMinute == null && this.learned.tokensPerMinute != null),
      inFlight: this.inFlight,
      waiting: this.queue.size,
      concurrency: this.aimd.limit,
      pausedUntil: this.pausedUntil > now ? new Date(this.pausedUntil).toISOString() : null,
      waitMs: Math.max(0, Math.round(waitMs)),
    };
  }

  /** Tells each waiting lane (once a second at most, or at once when `force`) why it waits. */
  private report(waitMs: number, force = false): void {
    const now = performance.now();
    let state: RateLimitState | null = null;
    for (const w of this.queue.heads()) {
      if (!w.onState) continue;
      const last = this.reportedAt.get(w.lane) ?? Number.NEGATIVE_INFINITY;
      if (!force && now - last < REPORT_EVERY_MS) continue;
      this.reportedAt.set(w.lane, now);
      state ??= this.state(waitMs);
      try {
        w.onState(state);
      } catch {
        /* a listener's failure is not the limiter's */
      }
    }
    // Lanes are runs: they end. Forget the ones not told for a while.
    if (this.reportedAt.size > 64) {
      for (const [lane, at] of this.reportedAt) if (now - at > 60_000) this.reportedAt.delete(lane);
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    // A request's place in its window, once taken, is kept for the next call let go (a wait for
    // tokens after it must not take a second one).
    let placed = false;
    try {
      while (this.queue.size > 0) {
        if (this.inFlight >= this.aimd.limit) {
          this.report(0);
          return; // a release pumps again
        }
        // A store that cannot answer (Redis down) pauses nothing: calls go out rather than hang.
        const pausedMs = await this.store.pausedFor(this.key.id).catch(() => 0);
        if (pausedMs > 0) {
          this.pausedUntil = Math.max(this.pausedUntil, Date.now() + pausedMs);
          this.report(pausedMs);
          await sleep(pausedMs);
          continue;
        }
        if (this.requests && this.store.shared && performance.now() - this.peersAt > PEERS_EVERY_MS) {
          this.peersAt = performance.now();
          this.peers = await this.store.peers(this.key.id).catch(() => this.peers);
        }
        if (this.requests && !placed) {
          const early = this.nextSendAt - performance.now();
          if (early > 0) {
            await sleep(Math.ceil(early));
            continue;
          }
          const waitMs = await this.take(this.requests.counter, 1);
          if (waitMs > 0) {
            this.report(waitMs);
            await sleep(waitMs);
            continue;
          }
          placed = true;
        }
        const head = this.queue.peek();
        if (!head) return;
        if (this.tokens) {
          const waitMs = await this.take(this.tokens.counter, Math.min(head.tokens, this.tokens.perMinute));
          if (waitMs > 0) {
            this.report(waitMs);
            await sleep(waitMs);
            continue;
          }
        }
        const w = this.queue.shift();
        if (!w) return;
        if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
        placed = false;
        if (this.requests) {
          // A late turn may catch up by half a gap at most: the spacing holds on average, bursts stay small.
          const gap = this.requests.gapMs * this.peers;
          this.nextSendAt = Math.max(this.nextSendAt, performance.now() - gap / 2) + gap;
        }
        this.inFlight++;
        w.resolve(this.permit(w));
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Takes `points` from a counter: 0 when taken, else how long until it may be tried again. */
  private async take(counter: RateLimiterAbstract, points: number): Promise<number> {
    try {
      await counter.consume(this.key.id, points);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
      // The store failed (Redis down): the call goes out unlimited rather than hang.
      return 0;
    }
  }

  private permit(w: Waiter): Permit {
    let released = false;
    return {
      release: (end) => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.lastUsed = Date.now();
        this.learn(end);
        if (end.rateLimited) {
          this.aimd.onRateLimited(this.inFlight + 1);
          const ms = end.retryAfterMs != null && end.retryAfterMs > 0 ? end.retryAfterMs : DEFAULT_PAUSE_MS;
          this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
          void this.store.pause(this.key.id, ms).then(
            () => this.pump(),
            () => this.pump(),
          );
          this.report(ms, true);
          return;
        }
        if (end.ok) this.aimd.onSuccess();
        if (this.tokens && end.tokens != null && end.tokens !== w.tokens) {
          const diff = end.tokens - w.tokens;
          const adjust =
            diff > 0 ? this.tokens.counter.penalty(this.key.id, diff) : this.tokens.counter.reward(this.key.id, -diff);
          adjust.catch(() => undefined);
        }
        void this.pump();
      },
    };
  }

  /** What the provider announced: its limits (used when the model sets none), and an empty allowance. */
  private learn(end: CallEnd): void {
    if (!end.headers) return;
    const a = announcedLimits(end.headers);
    let changed = false;
    if (a.requests.limit != null && a.requests.limit > 0 && a.requests.limit !== this.learned.requestsPerMinute) {
      this.learned.requestsPerMinute = a.requests.limit;
      changed = true;
    }
    if (a.tokens.limit != null && a.tokens.limit > 0 && a.tokens.limit !== this.learned.tokensPerMinute) {
      this.learned.tokensPerMinute = a.tokens.limit;
      changed = true;
    }
    if (changed) this.configure();
    // Nothing left: wait for the next call's worth to come back (the reset is when all of it has).
    for (const l of [a.requests, a.tokens]) {
      if (l.remaining === 0 && l.resetMs != null && l.resetMs > 0) {
        const oneCallMs = l === a.requests && l.limit ? 60_000 / l.limit : l.resetMs;
        const ms = Math.min(l.resetMs, oneCallMs);
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
        void this.store.pause(this.key.id, ms).catch(() => undefined);
      }
    }
  }
}
