import type { CallFailure, ErrorType } from './types.js';

type CallError = CallFailure['error'];

export const RETRYABLE: readonly ErrorType[] = ['rate_limited', 'timeout', 'connection', 'server_error', 'truncated'];

/** Longest wait a provider's Retry-After can impose (and the hard ceiling of any backoff). */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * `attempt` is the number of attempts a provider answered so far (1 after the first failure; a call
 * cut off by a shutdown or a crash is not one). Retries while
 * `attempt <= maxRetries`, so `maxRetries: 2` means at most 3 attempts. Only transient errors
 * retry: rate_limited, timeout, connection, server_error, truncated.
 */
export function shouldRetry(error: Pick<CallError, 'type'>, attempt: number, maxRetries: number): boolean {
  if (!RETRYABLE.includes(error.type)) return false;
  return attempt <= maxRetries;
}

export interface BackoffOptions {
  /** First backoff (before jitter). Default 500 ms. */
  baseMs?: number;
  /** Ceiling of the exponential part. Default 30 s. */
  capMs?: number;
  /** Source of randomness in [0, 1). Default Math.random. */
  random?: () => number;
}

/**
 * Delay before the next attempt. Exponential `baseMs * 2^(attempt-1)` capped at `capMs`, with
 * "equal jitter" (half fixed, half random: the delay lies in [exp/2, exp]). A provider's
 * Retry-After (`retryAfterMs`, parsed from `retry-after-ms` or `retry-after`) is a floor,
 * itself capped at MAX_RETRY_AFTER_MS (60 s).
 */
export function backoffMs(
  error: Pick<CallError, 'retryAfterMs'> | null | undefined,
  attempt: number,
  opts: BackoffOptions = {},
): number {
  const baseMs = opts.baseMs ?? 500;
  const capMs = Math.min(opts.capMs ?? 30_000, MAX_RETRY_AFTER_MS);
  const random = opts.random ?? Math.random;
  const n = Math.max(1, Math.floor(attempt));
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(n - 1, 30));
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = exp / 2 + (exp / 2) * r;
  const floor =
    error?.retryAfterMs != null && error.retryAfterMs > 0 ? Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
  return Math.round(Math.max(jittered, floor));
}

export const retryPolicy = { shouldRetry, backoffMs } as const;
