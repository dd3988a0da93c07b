// A request that reached a kept-alive connection is answered, even when the server's event loop
// was held up for seconds meanwhile (a 100,000-prompt upload, a first comparison of a large run, a
// loaded machine). With Node's default keep-alive timeout (5 s), the idle timer fires as the loop
// comes back, before the waiting request is read, and the connection is reset: the client sees
// ECONNRESET for a request the server never looked at (seen in the 100,000-item benchmark).

import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('sqlite');
});
afterAll(async () => {
  await t?.close();
});

/** Reads from `s` until one whole HTTP answer has arrived (a Content-Length body, or chunked). */
function answer(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(got)?.[1];
      const whole = length ? got.length >= head + 4 + Number(length) : got.endsWith('\r\n0\r\n\r\n');
      if (head >= 0 && whole) {
        s.off('data', onData);
        s.off('error', reject);
        s.off('close', onClose);
        resolve(got);
      }
    };
    const onClose = () => reject(new Error(`closed after ${JSON.stringify(got.slice(0, 200))}`));
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', onClose);
  });
}

it('answers a request sent on a kept-alive connection while the event loop was held up for 6 s', async () => {
  const { port } = new URL(t.server.url);
  const s = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const request = `GET /trpc/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
  s.write(request);
  const first = await answer(s);
  expect(first).toMatch(/^HTTP\/1\.1 200/);
  // The server announces how long an idle connection is kept; clients close theirs a little sooner.
  expect(first).toMatch(/keep-alive: timeout=30/i);

  const second = answer(s);
  s.write(request);
  // The server runs in this process: hold its loop up, as a long synchronous task would.
  const until = Date.now() + 6_000;
  while (Date.now() < until) {
    /* busy */
  }
  expect(await second).toMatch(/^HTTP\/1\.1 200/);
  s.destroy();
});
