// When BATCHLIGHT_TOKEN is set, every HTTP request and WebSocket connection must present it:
// `Authorization: Bearer <token>`, or the cookie the monitor gets by opening /?token=<token> once
// (handled in server.ts). Never as a query parameter on /trpc or /ws: URLs end up in logs.
// Everything here is total: a malformed header is a missing token, never an exception.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'batchlight_token';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (!presented) return false;
  return timingSafeEqual(digest(presented), digest(token));
}

/** The value of cookie `name`, decoded; undefined when absent or not decodable. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return cookieValue(req.headers.cookie, TOKEN_COOKIE);
}

export function isAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  return token === undefined || tokenMatches(presentedToken(req), token);
}
