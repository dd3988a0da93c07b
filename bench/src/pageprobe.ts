// Diagnostic: where a finished run's monitor page spends its first seconds (not part of pnpm bench).
// Runs N prompts (100,000 by default) at C=64 against a zero-latency fake, then opens the run's page
// in Chromium three times (the first with the run's aggregates not in the server's memory: a new
// server process) and prints, from navigation, each request's start and end and when the counters,
// charts and first rows showed; before that, how long the run's audit takes. KEEP_DB=1 keeps the
// database. `N=100000 node bench/dist/pageprobe.js`.
import { createClient } from '@batchlight/api/client';
import { tempSqlite } from '@batchlight/db/testing';
import type { Browser } from 'playwright-core';
import { launchChromium } from './monitor.js';
import { startFake, startServer } from './processes.js';
import { setup } from './setup.js';

const n = Number(process.env.N ?? 100_000);
const db = tempSqlite();
const fake = await startFake(0);
let server = await startServer(db.url);
let api = createClient({ url: server.url }).client;
const { model, set } = await setup(api, fake.url, n);
const run = await api.runs.create.mutate({ promptSetId: set.id, modelIds: [model.id], concurrency: 64, delayMs: 0 });
for (;;) {
  const r = await api.runs.get.query({ id: run.id });
  if (r.status !== 'running' && r.status !== 'queued') break;
  await new Promise((res) => setTimeout(res, 500));
}
// A new process: the run's aggregates are read from the database, as for any run finished earlier.
await server.stop('SIGTERM');
server = await startServer(db.url);
api = createClient({ url: server.url }).client;

const t = performance.now();
const audit = await api.runs.audit.query({ runId: run.id });
console.log(
  `runs.audit: ${(performance.now() - t).toFixed(0)} ms (${audit.tracesChecked} traces, verdict ${audit.verdict})`,
);

async function probe(browser: Browser, label: string) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const t0 = performance.now();
  const at = () => (performance.now() - t0).toFixed(0).padStart(6);
  const lines: string[] = [];
  page.on('request', (r) => lines.push(`${at()} ms  → ${r.url().replace(server.url, '')}`));
  page.on('requestfinished', (r) => lines.push(`${at()} ms  ← ${r.url().replace(server.url, '')}`));
  page.on('websocket', (ws) => lines.push(`${at()} ms  ws ${ws.url().replace(server.url.replace('http', 'ws'), '')}`));
  await page.goto(`${server.url}/#/run/${run.id}`);
  const mark = (what: string) => () => lines.push(`${at()} ms  ■ ${what}`);
  const wait = { timeout: 120_000 };
  await Promise.all([
    page
      .getByTestId('count-completed')
      .filter({ hasText: n.toLocaleString('en') })
      .waitFor(wait)
      .then(mark('counters')),
    page.locator(`[data-testid=charts][data-calls="${n}"]`).waitFor(wait).then(mark('charts')),
    page.locator('[data-item-id]').first().waitFor(wait).then(mark('first rows')),
  ]);
  await new Promise((r) => setTimeout(r, 500));
  console.log(`--- ${label}\n${lines.join('\n')}`);
  await context.close();
}

const browser = await launchChromium();
try {
  await probe(browser, 'first open (aggregates read from the database)');
  await probe(browser, 'second open');
  await probe(browser, 'third open');
} finally {
  await browser.close();
  await server.stop('SIGTERM');
  await fake.stop('SIGTERM');
  if (process.env.KEEP_DB) console.log(`database kept: ${db.url}`);
  else await db.drop();
}
