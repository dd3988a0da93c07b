// Serves the built monitor (apps/monitor/dist) with a fallback to index.html for client routes.
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

function text(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

export function serveStatic(dir: string | undefined, url: URL, res: ServerResponse): void {
  const index = dir ? join(dir, 'index.html') : undefined;
  if (!dir || !index || !existsSync(index)) {
    text(res, 404, 'The monitor is not built. Run `pnpm build`, or use the API at /trpc.\n');
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    text(res, 400, 'The path is not valid percent-encoded UTF-8.\n');
    return;
  }
  if (path.includes('\0')) {
    text(res, 400, 'The path holds a NUL byte.\n');
    return;
  }
  const file = normalize(join(dir, path));
  const inside = file.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  const target = inside && existsSync(file) && statSync(file).isFile() ? file : index;
  const immutable = target !== index && path.startsWith('/assets/');
  res.writeHead(200, {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  createReadStream(target).pipe(res);
}
