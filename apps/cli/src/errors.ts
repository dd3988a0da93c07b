// User-facing errors: one line, no stack, and an exit code that says what kind of failure it was.
import { TRPCClientError } from '@trpc/client';

export const EXIT = { ok: 0, runFailed: 1, usage: 2, unreachable: 3, server: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
  }
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, i = 0; e && i < 6; e = (e as { cause?: unknown }).cause, i++) out.push(e);
  return out;
}

/** Server answers that mean the input was at fault (the message names the field). */
const USAGE_CODES = new Set(['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE']);

/** The request never got an answer: the server could not be reached, or the connection broke. */
export function isConnectionError(err: unknown): boolean {
  const chain = causes(err);
  const codes = chain.map((e) => (e as { code?: string }).code).filter(Boolean);
  const text = chain.map((e) => (e instanceof Error ? e.message : String(e))).join(' ');
  const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET'];
  return codes.some((c) => unreachable.includes(c!)) || /fetch failed|ECONNREFUSED/.test(text);
}

/** Turns anything thrown into one line and an exit code. */
export function describeError(err: unknown, server: string): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.code };
  const chain = causes(err);
  if (isConnectionError(err)) {
    return {
      message: `cannot reach the server at ${server} (is \`pnpm start\` running? set --server or BATCHLIGHT_SERVER)`,
      code: EXIT.unreachable,
    };
  }
  if (err instanceof TRPCClientError) {
    const status =
      (err.meta as { response?: { status?: number } } | undefined)?.response?.status ?? err.data?.httpStatus;
    if (status === 401 || /unauthorized/i.test(err.message)) {
      return {
        message:
          'unauthorized: the server wants its BATCHLIGHT_TOKEN (--token or BATCHLIGHT_TOKEN), and the one given was missing or wrong',
        code: EXIT.unreachable,
      };
    }
    if (chain.some((e) => e instanceof SyntaxError) || /is not valid JSON|Unexpected token/.test(err.message)) {
      return {
        message: `the server at ${server} did not answer as a batchlight API${status ? ` (HTTP ${status})` : ''}: is --server the right URL?`,
        code: EXIT.unreachable,
      };
    }
    const code = err.data?.code;
    if (code && USAGE_CODES.has(code)) return { message: err.message, code: EXIT.usage };
    return { message: `server error: ${err.message}`, code: EXIT.server };
  }
  return { message: err instanceof Error ? err.message : String(err), code: EXIT.server };
}
