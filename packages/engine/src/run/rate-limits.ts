// A run's view of its provider keys' limiters: what a waiting call hears (CallRequest.limit's
// `onState`) becomes a `rate.limit` event of the run. The limiter tells each run at most once a
// second per key, and at once when a 429 pauses the key.
import type { RateLimitState } from '@batchlight/llm';
import type { EventDraft } from './transition.js';

export type RateLimitListener = (state: RateLimitState) => void;

export class RateLimitEvents {
  private readonly listeners = new Map<string, RateLimitListener>();

  constructor(
    private readonly write: (event: EventDraft) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {}

  /** The listener for the calls of one model (one per model: the calls share it). */
  listenerFor(modelId: string): RateLimitListener {
    let l = this.listeners.get(modelId);
    if (!l) {
      l = (state) => {
        // An event that cannot be written is lost, not the call's failure.
        this.write({ type: 'rate.limit', payload: { modelId, ...state } }).catch((err: unknown) =>
          this.log(`rate.limit event not written: ${err instanceof Error ? err.message : String(err)}`),
        );
      };
      this.listeners.set(modelId, l);
    }
    return l;
  }
}
