// Response headers every answer carries. The monitor's policy allows only its own origin: its
// script and stylesheet are files under /assets (no inline script or style element), its icon
// is a data: URL, and it talks to /trpc and /ws on its own origin ('self' covers ws: there).
// API answers and downloads may run nothing and be embedded nowhere.
import type { ServerResponse } from 'node:http';

const MONITOR_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

const COMMON: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function setSecurityHeaders(res: ServerResponse, kind: 'monitor' | 'api'): void {
  for (const [k, v] of Object.entries(COMMON)) res.setHeader(k, v);
  res.setHeader('content-security-policy', kind === 'monitor' ? MONITOR_CSP : API_CSP);
}
