import { scrubberFor } from './scrub.js';
import type { CallFailure, ErrorType } from './types.js';

type CallError = CallFailure['error'];

export interface ClassifyContext {
  /** The caller's signal fired (cancel). Wins over everything else. */
  aborted?: boolean;
  /** Our own timeout fired. */
  timedOut?: boolean;
  timeoutMs?: number | null;
  /** Redacted from every message (the API key of the call). */
  secret?: string;
  /** The last HTTP response seen for this call, when the SDK hides it (Hugging Face). */
  response?: { status: number; headers: HeadersLike } | null;
}

export type HeadersLike = Headers | Record<string, string | string[] | undefined> | null | undefined;

/** Thrown by adapters when a response arrived but cannot be understood. */
export class InvalidResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResponseError';
  }
}

/**
 * Thrown by adapters when a stream ends cleanly but without its last chunk (no finish_reason and
 * no [DONE]): the answer was cut off on the way. Carries what arrived, for the trace.
 */
export class TruncatedStreamError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'TruncatedStreamError';
  }
}

export const MAX_MESSAGE_CHARS = 500;

/**
 * Removes the secret (any 8-character piece of it, and of its encodings: scrub.ts) and anything
 * that looks like a bearer token or a key, then trims.
 */
export function redact(message: string, secret?: string): string {
  let m = scrubberFor(secret).scrub(message);
  m = m.replace(/(Bearer\s+)[^\s"',;}]+/gi, '$1***');
  m = m.replace(/\b(sk-[A-Za-z0-9_-]{6,}|hf_[A-Za-z0-9]{6,})/g, '***');
  if (m.length > MAX_MESSAGE_CHARS) m = `${m.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
  return m;
}

/** One header's value (the first, if repeated), whatever shape the headers come in. */
export function headerValue(h: HeadersLike, name: string): string | null {
  if (!h) return null;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name);
  const rec = h as Record<string, string | string[] | undefined>;
  for (const k of Object.keys(rec)) {
    if (k.toLowerCase() === name) {
      const v = rec[k];
      return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
    }
  }
  return null;
}

/**
 * How long the provider asked us to wait: `retry-after-ms` (milliseconds) first, then
 * `retry-after` as seconds or as an HTTP date. Null when absent or unparseable.
 */
export function parseRetryAfter(headers: HeadersLike, now: number = Date.now()): number | null {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms != null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const ra = headerValue(headers, 'retry-after');
  if (ra != null && ra.trim() !== '') {
    const n = Number(ra);
    if (Number.isFinite(n) && n >= 0) return Math.round(n * 1000);
    const t = Date.parse(ra);
    if (Number.isFinite(t)) return Math.max(0, t - now);
  }
  return null;
}

export function typeForStatus(status: number): ErrorType {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'bad_request';
  return 'invalid_response';
}

/**
 * Error codes of a connection that failed or broke: Node's socket errors, and undici's (the
 * `code` of its public error classes: `SocketError` is a socket closed under a request, the cause
 * of fetch's `TypeError('terminated')` when a body is cut off).
 */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** TLS failed: a certificate refused, or https spoken to a server that does not (OpenSSL's and Node's codes). */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|EPROTO$)/;
/** undici's own timeouts (`HeadersTimeoutError`, `BodyTimeoutError`): the provider went quiet. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** What classifyError reads of a thrown value, whoever threw it. */
interface Thrown {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  /** An AggregateError's (a connection tried on several addresses). */
  errors?: unknown;
  status?: unknown;
  httpResponse?: { status?: unknown } | null;
  headers?: unknown;
}

function asThrown(v: unknown): Thrown | null {
  return v !== null && (typeof v === 'object' || typeof v === 'function') ? (v as Thrown) : null;
}

/** The error and its causes (and the first error of an AggregateError), a few deep. */
function causeChain(err: unknown): Thrown[] {
  const out: Thrown[] = [];
  let e = asThrown(err);
  for (let i = 0; e && i < 6; i++) {
    out.push(e);
    e = asThrown(e.cause) ?? (Array.isArray(e.errors) ? asThrown(e.errors[0]) : null);
  }
  return out;
}

function statusOf(e: Thrown | null): number | null {
  if (typeof e?.status === 'number') return e.status;
  if (typeof e?.httpResponse?.status === 'number') return e.httpResponse.status;
  return null;
}

/**
 * Map anything a provider call can throw onto the ErrorType taxonomy. The returned message is
 * trimmed to 500 characters with the secret (and any bearer token) replaced by `***`; no error
 * object, header or request is ever kept.
 */
export function classifyError(err: unknown, ctx: ClassifyContext = {}): CallError {
  const e = asThrown(err);
  const raw = typeof e?.message === 'string' && e.message ? e.message : String(err);
  const make = (
    type: ErrorType,
    message: string,
    httpStatus: number | null = null,
    retryAfterMs: number | null = null,
    code: string | null = null,
  ): CallError => ({
    type,
    message: redact(message, ctx.secret),
    httpStatus,
    retryAfterMs,
    code,
  });

  if (ctx.aborted) return make('aborted', 'aborted by caller');
  if (ctx.timedOut) return make('timeout', `timed out after ${ctx.timeoutMs ?? '?'} ms`);
  if (err instanceof TruncatedStreamError) return make('truncated', raw);

  let status = statusOf(e);
  let headers = (e?.headers ?? null) as HeadersLike;
  if (status == null && ctx.response && (ctx.response.status < 200 || ctx.response.status >= 300)) {
    status = ctx.response.status;
  }
  if (ctx.response && (!headers || typeof headers !== 'object')) headers = ctx.response.headers;
  if (status != null && status > 0) {
    const type = typeForStatus(status);
    const retryAfterMs = type === 'rate_limited' || status === 503 ? parseRetryAfter(headers) : null;
    return make(type, raw, status, retryAfterMs);
  }

  const chain = causeChain(e);
  // A class's name where its instances keep Error's (the openai SDK's errors say 'Error').
  const names = chain.flatMap((c) => [String(c.name ?? ''), c.constructor?.name ?? '']);
  const codes = chain.flatMap((c) => (typeof c.code === 'string' ? [c.code] : []));
  // The innermost code is the system's (the SDK's and fetch's wrappers say "Connection error." or
  // "fetch failed"); its message says where (`connect ECONNREFUSED 127.0.0.1:8000`).
  const inner = chain.findLast((c) => typeof c.code === 'string');
  const code = inner ? String(inner.code) : null;
  const detail = inner && typeof inner.message === 'string' && inner.message && inner.message !== raw;
  const withCause = detail ? `${raw} (${inner.message})` : raw;
  if (names.includes('APIUserAbortError') || names.includes('AbortError')) return make('aborted', raw);
  if (names.includes('APIConnectionTimeoutError') || names.includes('TimeoutError')) return make('timeout', raw);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return make('timeout', withCause, null, null, code);
  if (names.includes('InvalidResponseError') || names.includes('SyntaxError')) return make('invalid_response', raw);
  if (codes.some((c) => CONNECTION_CODES.has(c) || TLS_CODE.test(c)))
    return make('connection', withCause, null, null, code);
  if (names.includes('APIConnectionError')) return make('connection', withCause, null, null, code);
  // No HTTP status and no network cause: we cannot understand what came back.
  return make('invalid_response', raw);
}

/**
 * What a failed call's error means to whoever set the model up: refused, host not found, TLS, key
 * rejected, timed out, each with the code that says so. The error's own message is beside it.
 */
export function failureCause(error: CallError): string {
  const code = error.code ?? '';
  if (error.type === 'auth') return `the key was rejected (HTTP ${error.httpStatus ?? '401/403'})`;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): nothing listens at that host and port';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (DNS: ${code})`;
  if (TLS_CODE.test(code))
    return `TLS failed (${code}): https to a server that speaks plain HTTP, or a certificate that is not trusted`;
  if (error.type === 'timeout') return `no answer in time (timeout${code ? `: ${code}` : ''})`;
  if (code) return `${error.type} (${code})`;
  return error.httpStatus ? `${error.type} (HTTP ${error.httpStatus})` : error.type;
}
