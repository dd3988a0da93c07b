// When BATCHLIGHT_TOKEN is set, every HTTP request and WebSocket connection must present it:
// `Authorization: Bearer <token>`, the `token` query parameter (WebSocket clients), or the
// cookie the monitor gets by opening /?token=<token> once.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'batchlight_token';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (!presented) return false;
  return timingSafeEqual(digest(presented), digest(token));
}

export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const url = new URL(req.url ?? '/', 'http://x');
  const q = url.searchParams.get('token');
  if (q) return q;
  const cookie = req.headers.cookie
    ?.split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === TOKEN_COOKIE);
  return cookie?.[1] ? decodeURIComponent(cookie[1]) : undefined;
}

export function isAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  return token === undefined || tokenMatches(presentedToken(req), token);
}
