// What a provider says of its limits in its response headers (OpenAI's format, which many
// OpenAI-compatible servers copy): x-ratelimit-{limit,remaining,reset}-{requests,tokens}.
import type { HeadersLike } from '../errors.js';
import { headerValue } from '../errors.js';

export interface AnnouncedLimit {
  /** The limit per minute. */
  limit: number | null;
  /** What is left of it now. */
  remaining: number | null;
  /** Until the limit is whole again, in ms. */
  resetMs: number | null;
}

export interface AnnouncedLimits {
  requests: AnnouncedLimit;
  tokens: AnnouncedLimit;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;

/**
 * A reset duration as OpenAI writes it ("1s", "6m0s", "20ms", "1h2m3.5s"); a bare number is
 * seconds. Null when it is not one.
 */
export function parseResetDuration(text: string | null): number | null {
  if (text == null) return null;
  const s = text.trim();
  if (s === '') return null;
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(ms);
}

function count(text: string | null): number | null {
  if (text == null || text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function announced(headers: HeadersLike, what: 'requests' | 'tokens'): AnnouncedLimit {
  return {
    limit: count(headerValue(headers, `x-ratelimit-limit-${what}`)),
    remaining: count(headerValue(headers, `x-ratelimit-remaining-${what}`)),
    resetMs: parseResetDuration(headerValue(headers, `x-ratelimit-reset-${what}`)),
  };
}

export function announcedLimits(headers: HeadersLike): AnnouncedLimits {
  return { requests: announced(headers, 'requests'), tokens: announced(headers, 'tokens') };
}
