// A run's settings when a client leaves them out. No zod here: the monitor's bundle takes these
// through `@batchlight/api/schemas` without the schemas themselves.
import { DEFAULT_TIMEOUT_MS } from '@batchlight/llm/defaults';

/** A run's settings when a client leaves them out (the CLI's options, the monitor's form, the API's schema). */
export const RUN_DEFAULTS = {
  concurrency: 4,
  delayMs: 0,
  repeats: 1,
  maxRetries: 3,
  timeoutMs: DEFAULT_TIMEOUT_MS,
} as const;
