// The checks every HTTP request and WebSocket upgrade passes before anything else runs.
//
// Host: a DNS-rebinding page (evil.example resolving to 127.0.0.1) is same-origin with the server
// in the browser's eyes; only the Host header it sends gives it away. So the server answers only
// to the names it is reached by: the loopback names for its port, its own address, and the
// hosts of BATCHLIGHT_ALLOWED_ORIGINS. Origin: a page on another origin (another port of
// 127.0.0.1 shares the SameSite cookie) can open a WebSocket or send some POSTs without CORS
// asking the server; browsers say where such a request comes from, so a foreign Origin is
// refused. Requests without Origin (CLI, scripts, same-origin GETs) pass.
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: 400 | 403 | 421;
  message: string;
}

/** `host[:port]` as a URL would write it (lower case, IPv6 in brackets, no default port), or null. */
export function normalHost(value: string): string | null {
  try {
    const u = new URL(`http://${value}`);
    return u.host && u.host === value.toLowerCase().replace(/:80$/, '') && !u.username && u.pathname === '/'
      ? u.host
      : null;
  } catch {
    return null;
  }
}

export function createRequestGate(opts: { ownHosts: string[]; allowedOrigins: string[] }) {
  const hosts = new Set<string>();
  const origins = new Set<string>();
  for (const h of opts.ownHosts) {
    const n = normalHost(h);
    if (!n) continue;
    hosts.add(n);
    origins.add(`http://${n}`);
  }
  for (const o of opts.allowedOrigins) {
    const u = new URL(o);
    hosts.add(u.host);
    origins.add(u.origin);
  }
  const hint = 'add the URL you open it with to BATCHLIGHT_ALLOWED_ORIGINS';

  return {
    hosts,
    origins,
    check(req: IncomingMessage): Refusal | null {
      const host = req.headers.host;
      if (!host) return { status: 400, message: 'a Host header is required' };
      if (!hosts.has(normalHost(host) ?? ''))
        return { status: 421, message: `this server does not answer to Host "${host.slice(0, 200)}"; ${hint}` };
      const origin = req.headers.origin;
      if (origin !== undefined && !origins.has(origin.toLowerCase())) {
        return { status: 403, message: `requests from origin "${origin.slice(0, 200)}" are refused; ${hint}` };
      }
      return null;
    },
  };
}
