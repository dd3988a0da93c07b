// Web pages that try to drive the server, in Debian's Chromium against the real server process:
// a page on another port of 127.0.0.1 (same site: it shares the SameSite token cookie), and a
// DNS-rebinding page (its name resolves to 127.0.0.1, so the browser takes it for the server's
// own origin). Each tries a WebSocket mutation and the POSTs a page can send without asking CORS;
// none may get through, and nothing may be written. Then the monitor itself is framed by another
// page: the browser refuses to show it.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@batchlight/api/client';
import { type RunningProcess, startServerProcess } from '@batchlight/server/testing';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';

const TOKEN = 'hostile-origin-token-0123456789';
const REBIND_HOST = 'rebind.evil.example';

/** What the attacking page runs against `target` (an origin); the outcome of each attempt. */
const ATTACK = `
async function attack(target) {
  const out = {};
  const body = JSON.stringify({ json: { name: 'written by a web page', prompts: [{ input: 'pwned' }] } });
  out.ws = await new Promise((resolve) => {
    const ws = new WebSocket(target.replace('http', 'ws') + '/ws');
    const timer = setTimeout(() => resolve('no answer'), 5000);
    ws.onopen = () => {
      const params = { path: 'promptSets.create', input: JSON.parse(body) };
      ws.send(JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'mutation', params }));
      ws.onmessage = (m) => { clearTimeout(timer); resolve('open, answered: ' + String(m.data).slice(0, 80)); };
    };
    ws.onerror = () => { clearTimeout(timer); resolve('refused'); };
  });
  const post = async (init) => {
    try {
      const r = await fetch(target + '/trpc/promptSets.create', { method: 'POST', ...init });
      return r.type === 'opaque' ? 'opaque' : String(r.status);
    } catch (e) { return 'failed'; }
  };
  out.json = await post({ headers: { 'content-type': 'application/json' }, body });
  out.text = await post({ mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body });
  const form = new FormData();
  form.append('json', body);
  out.form = await post({ mode: 'no-cors', body: form });
  out.beacon = navigator.sendBeacon(target + '/trpc/promptSets.create', new Blob([body], { type: 'text/plain' }));
  return out;
}`;

describe('web pages on other origins', () => {
  let dir: string;
  let browser: Browser;
  const servers: RunningProcess[] = [];
  let attacker: Server;
  let attackerUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'batchlight-origin-'));
    // The attacker's own site, on another port of 127.0.0.1.
    attacker = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        req.url === '/frame'
          ? '<iframe id="f" style="width:800px;height:600px"></iframe>'
          : `<script>${ATTACK}</script>`,
      );
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
    browser = await launchChromium([
      `--host-resolver-rules=MAP ${REBIND_HOST} 127.0.0.1`,
      // Chromium's own Local (Private) Network Access check would stop the rebinding page before
      // the server sees it; other browsers have none. Off, so the server's checks are tested.
      '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights',
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.stop();
    await new Promise((r) => attacker?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function start(name: string, env: Record<string, string> = {}) {
    const server = await startServerProcess({ DATABASE_URL: `file:${join(dir, `${name}.db`)}`, ...env });
    servers.push(server);
    const api = createClient({ url: server.url, token: env.BATCHLIGHT_TOKEN }).client;
    return { server, api, sets: async () => (await api.promptSets.list.query()).map((s) => s.name) };
  }

  async function attackFrom(context: BrowserContext, pageUrl: string, target: string) {
    const page = await context.newPage();
    await page.goto(pageUrl);
    const out = await page.evaluate(`attack(${JSON.stringify(target)})`);
    await page.close();
    return out as Record<string, string | boolean>;
  }

  for (const withToken of [false, true]) {
    const what = withToken ? 'holding the token cookie' : '(loopback, no token)';
    it(`refuses a page on another port of 127.0.0.1 ${what}`, async () => {
      const { server, sets } = await start(`port-${withToken}`, withToken ? { BATCHLIGHT_TOKEN: TOKEN } : {});
      const before = await sets();
      const context = await browser.newContext();
      if (withToken) {
        // The user opened the monitor once: the browser holds the token cookie for 127.0.0.1.
        await (await context.newPage()).goto(`${server.url}/?token=${TOKEN}`);
        expect((await context.cookies(server.url)).map((c) => c.name)).toContain('batchlight_token');
      }
      const out = await attackFrom(context, `${attackerUrl}/`, server.url);
      expect(out.ws).toBe('refused');
      expect(out.json).toBe('failed'); // CORS: the preflight is not answered
      await new Promise((r) => setTimeout(r, 500)); // the beacon is sent after the page is gone
      expect(await sets()).toEqual(before);
      await context.close();
    });
  }

  it('refuses a DNS-rebinding page: same origin to the browser, a foreign Host to the server', async () => {
    const { server, sets } = await start('rebind');
    const before = await sets();
    const port = new URL(server.url).port;
    const origin = `http://${REBIND_HOST}:${port}`;
    const context = await browser.newContext();
    // The attacker's DNS answered its own address for the page, then 127.0.0.1 for what follows.
    await context.route(`${origin}/`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: `<script>${ATTACK}</script>` }),
    );
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const out = (await page.evaluate(`attack(${JSON.stringify(origin)})`)) as Record<string, string>;
    // Same origin: the browser lets every request through; the server refuses each by its Host.
    expect(out.json).toBe('421');
    expect(out.ws).toBe('refused');
    const read = await page.evaluate(`fetch('/trpc/promptSets.list').then((r) => r.status)`);
    expect(read).toBe(421);
    await new Promise((r) => setTimeout(r, 500));
    expect(await sets()).toEqual(before);
    await context.close();
  });

  it('cannot be framed by another page', async () => {
    const { server } = await start('frame');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${attackerUrl}/frame`);
    await page.evaluate(`document.getElementById('f').src = ${JSON.stringify(`${server.url}/`)}`);
    await new Promise((r) => setTimeout(r, 1500));
    const frame = page.frames().find((f) => f !== page.mainFrame());
    // Blocked by frame-ancestors / X-Frame-Options: the frame never runs the monitor.
    const rendered = await frame
      ?.evaluate(() => document.querySelector('#root')?.childElementCount ?? 0)
      .catch(() => 0);
    expect(rendered ?? 0).toBe(0);
    await context.close();
  });
});
