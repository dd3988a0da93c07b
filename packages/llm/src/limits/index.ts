// The provider keys' limiters of one LLM client (one per process): found by key, created on first
// use, forgotten when idle.
import type { RateLimitSettings, ResolvedModel } from '../types.js';
import { limitKeyOf } from './key.js';
import { KeyLimiter } from './key-limiter.js';
import { createLimitStore, type LimitStore, type LimitStoreOptions } from './store.js';

export { type AnnouncedLimits, announcedLimits, parseResetDuration } from './headers.js';
export { keyFingerprint, type LimitKey, limitKeyOf } from './key.js';
export type { CallEnd, Permit } from './key-limiter.js';
export { KeyLimiter, UNSET_KEY_CONCURRENCY } from './key-limiter.js';
export { createLimitStore, DEFAULT_LIMIT_KEY_PREFIX, type LimitStore, type LimitStoreOptions } from './store.js';

const IDLE_MS = 10 * 60_000;
const NO_SETTINGS: RateLimitSettings = {};

export class RateLimits {
  private readonly keys = new Map<string, KeyLimiter>();
  /** Where the keys' counters live; the Pacer takes its shared turns there too. */
  readonly store: LimitStore;

  constructor(options: LimitStoreOptions = {}) {
    this.store = createLimitStore(options);
  }

  /** The limiter of the key `model` calls with (`apiKey` is only hashed). */
  limiterFor(model: ResolvedModel, apiKey: string | undefined): KeyLimiter {
    const key = limitKeyOf(model, apiKey);
    const settings = model.rateLimits ?? NO_SETTINGS;
    let l = this.keys.get(key.id);
    if (l) l.update(settings);
    else {
      this.forgetIdle();
      l = new KeyLimiter(key, settings, this.store);
      this.keys.set(key.id, l);
    }
    return l;
  }

  private forgetIdle(): void {
    const now = Date.now();
    for (const [id, l] of this.keys) if (l.idle && now - l.lastUsed > IDLE_MS) this.keys.delete(id);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
