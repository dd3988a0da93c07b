import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tiny node:http server for the cases the testkit fakes cannot produce. */
export interface TinyServer {
  url: string;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }>;
  /** TCP connections accepted so far. */
  connections(): number;
  /** TCP connections closed so far. */
  closedConnections(): number;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => unknown;

export async function startServer(handler: Handler): Promise<TinyServer> {
  const requests: TinyServer['requests'] = [];
  let connections = 0;
  let closed = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      void Promise.resolve(handler(req, res, body)).catch(() => res.destroy());
    });
  });
  server.on('connection', (s) => {
    connections++;
    s.on('close', () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
    closedConnections: () => closed,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** One chat.completion.chunk as an SSE event. */
export function sseChunk(model: string, delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

/** A whole streamed answer: `pieces` as deltas, a stop chunk, a usage chunk, [DONE]. */
export function sseAnswer(model: string, pieces: string[]): string {
  let s = pieces.map((p, i) => sseChunk(model, i === 0 ? { role: 'assistant', content: p } : { content: p })).join('');
  s += sseChunk(model, {}, 'stop');
  s += `data: ${JSON.stringify({ id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 0, model, choices: [], usage: { prompt_tokens: 3, completion_tokens: pieces.length, total_tokens: 3 + pieces.length } })}\n\n`;
  return `${s}data: [DONE]\n\n`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `cond()` holds (or fail after `ms`). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}
