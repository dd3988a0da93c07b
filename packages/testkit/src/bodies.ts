// A large request body, as an attacker (or a careless script) sends one: `bytes` of spaces
// written as fast as the server reads them, chunked or with a Content-Length announcing them all.
import { request } from 'node:http';

export interface LargeBodyResult {
  /** The answer's status; 0 when the connection ended without one. */
  status: number;
  body: string;
  /** Bytes handed to the socket before the answer came or the connection ended. */
  sent: number;
}

export function sendLargeBody(
  url: string,
  bytes: number,
  opts: { declared?: boolean; chunkBytes?: number } = {},
): Promise<LargeBodyResult> {
  return new Promise((resolve) => {
    let sent = 0;
    const headers = {
      'content-type': 'application/json',
      ...(opts.declared ? { 'content-length': String(bytes) } : {}),
    };
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      const done = () => resolve({ status: res.statusCode ?? 0, body, sent });
      res.on('data', (d) => (body += d));
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', () => resolve({ status: 0, body: '', sent }));
    const chunk = Buffer.alloc(opts.chunkBytes ?? 64 * 1024, 0x20);
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}
