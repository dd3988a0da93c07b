// End to end: the real server (its own process, serving the built monitor) and Debian's Chromium.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@batchlight/api/client';
import { type RunningProcess, startServerProcess } from '@batchlight/server/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';

const SHOTS = fileURLToPath(new URL('../test-output/', import.meta.url));

let dir: string;
let server: RunningProcess;
let url: string;
let api: Client;
let fake: FakeServer;
let browser: Browser;
let page: Page;
let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;
const models: Record<string, string> = {};
/** The 10,000-item run (5,000 prompts × 2 repeats), made by its test and read by the matrix's. */
let tenK = '';
/** Every Content Security Policy violation any page reported (none expected). */
const cspViolations: string[] = [];
/** Calls to `gated-model` wait on this at the fake: a test holds a run still with it. */
let gated: Promise<unknown> = Promise.resolve();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'batchlight-e2e-'));
  fake = await startFakeOpenAI({
    behavior: (req) =>
      req.model === 'liar-model'
        ? { latencyMs: 20, answerAs: 'qwen-2.5-7b' }
        : req.model === 'gated-model'
          ? { latencyMs: 100, gate: () => gated }
          : req.model === 'limited-model'
            ? { latencyMs: 30, fault: { kind: '429', retryAfterMs: 1_000 }, times: 4 }
            : { latencyMs: req.model === 'slow-model' ? 120 : 30 },
  });
  // The connection-drop test reaches the server through a TCP proxy on its own port: the server
  // is told that origin is its own, as it would be told a reverse proxy's.
  proxy = await startCuttableProxy(() => new URL(url));
  server = await startServerProcess({
    DATABASE_URL: `file:${join(dir, 'e2e.db')}`,
    LLM_KEY_E2E_FAKE: 'sk-e2e',
    BATCHLIGHT_SECRET_KEY: 'e2e-secret-key-for-tests',
    BATCHLIGHT_ALLOWED_ORIGINS: proxy.url,
  });
  url = server.url;
  api = createClient({ url }).client;
  for (const [name, providerModel] of [
    ['E2E Fake', 'fake-model'],
    ['E2E Slow', 'slow-model'],
    ['E2E Liar', 'liar-model'],
    ['E2E Limited', 'limited-model'],
    ['E2E Gated', 'gated-model'],
  ] as const) {
    const m = await api.models.create.mutate({
      name,
      provider: 'openai',
      providerModel,
      baseUrl: `${fake.url}/v1`,
      credentialEnv: 'LLM_KEY_E2E_FAKE',
      pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    });
    models[name] = m.id;
  }
  browser = await launchChromium();
  page = await newPage();
});

/** A page whose CSP violations (reported by the browser) land in `cspViolations`. */
async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  await context.exposeFunction('reportCspViolation', (v: string) => cspViolations.push(v));
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { reportCspViolation(v: string): void }).reportCspViolation;
      report(`${e.violatedDirective} ${e.blockedURI}`);
    }),
  );
  const p = await context.newPage();
  p.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return p;
}

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.stop();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const shot = (name: string, on: Page = page, fullPage = true) =>
  on.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
const count = async (id: string) => Number((await page.getByTestId(id).textContent())!.replace(/,/g, ''));
const demoSet = async () => (await api.promptSets.list.query()).find((s) => s.name === 'Demo: explain it')!;

describe('live monitor in Chromium', () => {
  it('starts a run from the form (errors at their field first), watches it complete live, counts match the API', async () => {
    await page.goto(`${url}/#/new`);
    await page.getByText('E2E Fake').click();
    await page.locator('input[name=concurrency]').fill('0');
    await page.getByRole('button', { name: 'Start run' }).click();
    const concurrencyField = page.locator('label.field', { has: page.locator('input[name=concurrency]') });
    await expect.poll(() => concurrencyField.locator('.field-error').textContent()).toMatch(/between 1 and 256/);
    await shot('new-run-errors');

    await page.locator('input[name=concurrency]').fill('4');
    await page.locator('input[name=promptLimit]').fill('20');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/run\//);
    const runId = page.url().split('#/run/')[1]!;
    await expect.poll(() => count('count-completed'), { timeout: 20_000 }).toBe(20);
    const run = await api.runs.get.query({ id: runId });
    expect(run.status).toBe('completed');
    expect(await count('count-completed')).toBe(run.completedItems);
    expect(await count('count-failed')).toBe(run.failedItems);
    expect(await count('count-total')).toBe(run.totalItems);
    await expect
      .poll(() => page.getByTestId('audit').textContent())
      .toMatch(/20 answered traces and 20 messages match/);
    await shot('run-page');

    // A click on a row opens its trace: full output and requested vs reported model.
    await page.locator('[data-status=completed]').first().click();
    await expect
      .poll(() => page.getByTestId('trace-models').textContent())
      .toMatch(/requestedfake-model.*reportedfake-model/);
    expect((await page.getByTestId('trace-output').textContent())!.length).toBeGreaterThan(5);
    expect(await page.getByTestId('trace-finish').textContent()).toBe('stop');
    await shot('trace', page, false);
    await page.keyboard.press('Escape');
  });

  it('shows a run whose calls all failed as all failed: no "all match", nothing to audit', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const closed = await api.models.create.mutate({
      name: 'E2E Closed Port',
      provider: 'openai',
      providerModel: 'nobody-home',
      baseUrl: `http://127.0.0.1:${closedPort}/v1`,
      credentialEnv: 'LLM_KEY_E2E_FAKE',
    });
    const set = await demoSet();
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [closed.id],
      concurrency: 4,
      delayMs: 0,
      promptLimit: 4,
      maxRetries: 0,
      name: 'all failed',
    });
    await page.goto(`${url}/#/run/${run.id}`);
    const badge = page.locator('h1 [data-testid=run-outcome]');
    await expect.poll(() => badge.getAttribute('data-outcome'), { timeout: 20_000 }).toBe('all_failed');
    expect(await badge.textContent()).toBe('all failed');
    expect(await count('count-failed')).toBe(4);
    const panel = page.locator('[data-model="E2E Closed Port"]');
    expect(await panel.getByTestId('model-attribution').textContent()).toBe('none answered');
    expect(await page.content()).not.toContain('all match');
    await expect
      .poll(() => page.getByTestId('audit').textContent())
      .toMatch(/Nothing to check: no call answered \(4 traces, 0 answered\)/);
    expect(await page.getByTestId('audit').textContent()).not.toMatch(/✓/);
    // The API's own word, and the runs list, say the same.
    expect(await api.runs.get.query({ id: run.id })).toMatchObject({ status: 'completed', outcome: 'all_failed' });
    await shot('run-all-failed');
    await page.goto(`${url}/#/runs`);
    const row = page.locator(`tr[data-run-id="${run.id}"]`);
    await expect.poll(() => row.getByTestId('run-outcome').textContent()).toBe('all failed');
    await shot('runs-all-failed', page, false);
  });

  it('loses no row and doubles none across a reload in the middle of a run', async () => {
    const set = await demoSet();
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Slow']!],
      concurrency: 3,
      delayMs: 0,
      promptLimit: 45,
    });
    await page.goto(`${url}/#/run/${run.id}`);
    await expect.poll(() => count('count-completed'), { timeout: 15_000 }).toBeGreaterThanOrEqual(6);
    await page.reload();
    await expect.poll(() => count('count-completed'), { timeout: 20_000 }).toBe(45);
    const ids = await page
      .locator('[data-item-id]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-item-id')));
    expect(new Set(ids).size).toBe(ids.length);
    await expect.poll(() => page.locator('.table-head h3').textContent()).toMatch(/\(45\)/);
    await page.getByLabel('status filter').selectOption('completed');
    // The table counts on the server, for the filter chosen.
    await expect.poll(() => page.locator('.table-head h3').textContent()).toMatch(/\(45\)/);
    const items = (await api.runs.items.query({ runId: run.id, limit: 1000 })).items;
    expect(items.filter((i) => i.status === 'completed')).toHaveLength(45);
  });

  it('flags a provider answering as another model, in the rows and in the audit panel', async () => {
    const set = await demoSet();
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Fake']!, models['E2E Liar']!],
      concurrency: 6,
      delayMs: 0,
      promptLimit: 8,
    });
    await page.goto(`${url}/#/run/${run.id}`);
    await expect.poll(() => count('count-completed'), { timeout: 15_000 }).toBe(16);
    await expect.poll(() => page.locator('.row-mismatch').count()).toBeGreaterThan(0);
    expect(await page.locator('.row-mismatch .badge.attr-mismatch').first().textContent()).toBe(
      'mismatch: qwen-2.5-7b',
    );
    await expect.poll(() => page.getByTestId('audit').textContent()).toMatch(/8 finding/);
    expect(await page.getByTestId('audit').textContent()).toMatch(
      /provider reported other model.*E2E Liar.*liar-model.*qwen-2\.5-7b/,
    );
    await shot('run-mismatch');
  });

  it('shows retries and rate-limit waits as they happen', async () => {
    const set = await demoSet();
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Limited']!],
      concurrency: 2,
      delayMs: 0,
      promptLimit: 6,
    });
    await page.goto(`${url}/#/run/${run.id}`);
    // While the provider says 429, the rows say so and the waits panel lists each wait.
    await page.locator('[data-status=retrying]').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-status=retrying]').first().textContent()).toMatch(/rate_limit.*429.*waiting/i);
    await expect.poll(() => page.getByTestId('waits').textContent()).toMatch(/429 → retry in \d+ ms/);
    await shot('run-retrying', page, false);
    await expect.poll(() => count('count-completed'), { timeout: 20_000 }).toBe(6);
    const fresh = await api.runs.get.query({ id: run.id });
    expect(fresh.retries).toBe(4);
    expect(await count('count-retries')).toBe(4);
    expect(await page.getByTestId('waits').locator('li').count()).toBe(4);

    // Every attempt of a retried item opens from its trace drawer, which has its own URL.
    const items = (await api.runs.items.query({ runId: run.id, limit: 100 })).items;
    const retried = items.find((i) => i.attempts > 1)!;
    await page.locator(`[data-item-id="${retried.id}"]`).click();
    const attempts = page.getByTestId('attempts').getByRole('button');
    await expect.poll(() => attempts.count()).toBe(retried.attempts);
    await expect.poll(() => page.url()).toContain(`?trace=${retried.trace!.id}`);
    await attempts.first().click();
    await expect.poll(() => page.getByTestId('trace-models').textContent()).toMatch(/attempt 1/);
    expect(await page.getByTestId('trace-models').textContent()).toMatch(/rate_limit.*429/);
    await shot('trace-attempts', page, false);
    const firstAttempt = page.url();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog', { name: 'trace' }).count()).toBe(0);
    await page.goto(`${url}/#/runs`);
    await page.goto(firstAttempt);
    await expect.poll(() => page.getByTestId('trace-models').textContent()).toMatch(/attempt 1/);
    await page.keyboard.press('Escape');
  });

  it('cancels a run, then resumes it to completion', async () => {
    const set = await demoSet();
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Slow']!],
      concurrency: 1,
      delayMs: 50,
      promptLimit: 30,
    });
    await page.goto(`${url}/#/run/${run.id}`);
    await expect.poll(() => count('count-completed'), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('h1 .badge.status-cancelled').waitFor({ timeout: 10_000 });
    const cancelled = await api.runs.get.query({ id: run.id });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.completedItems).toBeLessThan(30);
    await expect.poll(() => count('count-completed')).toBe(cancelled.completedItems);
    // The pause between cancel and resume is wall time, not active time.
    const pauseMs = 1500;
    await new Promise((r) => setTimeout(r, pauseMs));
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => count('count-completed'), { timeout: 30_000 }).toBe(30);
    await page.locator('h1 .badge.status-completed').waitFor({ timeout: 10_000 });
    const done = await api.runs.get.query({ id: run.id });
    expect(done.wallMs! - done.activeMs!).toBeGreaterThanOrEqual(pauseMs - 50);
    const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
    await expect.poll(() => page.getByTestId('active-time').textContent()).toBe(seconds(done.activeMs!));
    expect(await page.getByTestId('wall-time').textContent()).toBe(seconds(done.wallMs!));
    expect(await page.getByTestId('throughput').textContent()).toBe(`${((30 / done.activeMs!) * 1000).toFixed(1)}/s`);
    const ids = await page
      .locator('[data-item-id]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-item-id')));
    expect(new Set(ids).size).toBe(ids.length);
    expect(await page.locator('.table-head h3').textContent()).toMatch(/\(30\)/);
    expect((await api.runs.get.query({ id: run.id })).completedItems).toBe(30);
  });

  it('imports a prompt set: line-numbered errors, a preview, then the import', async () => {
    await page.goto(`${url}/#/prompts`);
    await page.locator('input[name=setName]').fill('E2E import');
    const content = page.locator('textarea[name=content]');
    await content.fill('{"input": "First prompt"}\n{"input": \n{"input": "Third prompt", "expected": "x"}');
    await expect.poll(() => page.getByTestId('import-errors').textContent()).toMatch(/line 2/);
    expect(await page.getByRole('button', { name: 'Import' }).isDisabled()).toBe(true);
    await shot('prompt-sets-errors');
    await content.fill(
      '{"input": "First prompt"}\n{"input": "Second prompt"}\n{"input": "Third prompt", "expected": "x"}',
    );
    await expect
      .poll(() => page.locator('.preview').textContent())
      .toMatch(/3 prompts ready.*First prompt.*Third prompt/);
    await page.getByRole('button', { name: 'Import' }).click();
    await expect.poll(() => page.locator('main').textContent()).toMatch(/Imported 3 prompts as "E2E import"/);
    expect((await api.promptSets.list.query()).find((s) => s.name === 'E2E import')?.promptCount).toBe(3);
  });

  it('adds a model in the form, shows its key masked only, and tests the connection', async () => {
    await page.goto(`${url}/#/models`);
    await page.getByRole('button', { name: 'Add model' }).click();
    await page.locator('input[name=name]').fill('E2E From Form');
    await page.locator('input[name=providerModel]').fill('fake-model');
    await page.locator('input[name=baseUrl]').fill('not a url');
    await page.locator('input[name=apiKey]').fill('sk-ui-secret-1234567890');
    await page.getByRole('button', { name: 'Save' }).click();
    const baseUrlField = page.locator('label.field', { has: page.locator('input[name=baseUrl]') });
    await expect.poll(() => baseUrlField.locator('.field-error').count()).toBe(1);
    await page.locator('input[name=baseUrl]').fill(`${fake.url}/v1`);
    await page.getByRole('button', { name: 'Save' }).click();
    const row = page.locator('tr', { hasText: 'E2E From Form' });
    await row.waitFor();
    expect(await page.content()).not.toContain('sk-ui-secret-1234567890');
    expect(await row.locator('td').nth(3).textContent()).toMatch(/…|\*|•/);
    await row.getByRole('button', { name: 'Test' }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toMatch(/ok · \d+ ms · fake-model \(match\)/);
    await shot('models-tested');
  });

  it('stays responsive through a 10,000-item run: virtualised rows, events coalesced per frame', async () => {
    const quick = await api.models.create.mutate({
      name: 'E2E Quick',
      provider: 'simulated',
      providerModel: 'quick-1',
      params: { simulation: { latencyMs: 2, outputTokens: { min: 5, max: 10 } } },
    });
    const set = await api.promptSets.create.mutate({
      name: '10k',
      prompts: Array.from({ length: 5000 }, (_, i) => ({ input: `Prompt ${i}` })),
    });
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [quick.id],
      concurrency: 64,
      delayMs: 0,
      repeats: 2,
    });
    tenK = run.id;
    await page.goto(`${url}/#/run/${run.id}`);
    await page.getByTestId('count-total').waitFor();
    // Frame gaps while the run streams events in: a busy main thread shows up as long gaps.
    const gaps = await page.evaluate(
      () =>
        new Promise<number[]>((resolve) => {
          const out: number[] = [];
          let last = performance.now();
          const end = last + 3000;
          const tick = (t: number) => {
            out.push(t - last);
            last = t;
            if (t < end) requestAnimationFrame(tick);
            else resolve(out);
          };
          requestAnimationFrame(tick);
        }),
    );
    gaps.sort((a, b) => a - b);
    const p95 = gaps[Math.floor(gaps.length * 0.95)]!;
    await expect.poll(() => count('count-completed'), { timeout: 120_000 }).toBe(10_000);
    expect(await page.locator('[data-item-id]').count()).toBeLessThan(100);
    expect(await page.locator('.table-head h3').textContent()).toMatch(/10,000/);
    // Reported, not asserted: frame timing on a shared 2-core machine is not a test (see README).
    console.log(`10k run: ${gaps.length} frames in 3 s, p95 frame gap ${p95.toFixed(1)} ms`);
    expect(gaps.length).toBeGreaterThan(0);
    await shot('run-10k');
    // Reopening the finished run: its snapshot (counters, charts over every call), no log replayed.
    const section = page.locator('section[data-last-seq]');
    await expect
      .poll(async () => Number(await section.getAttribute('data-last-seq')), { timeout: 30_000 })
      .toBeGreaterThan(20_000);
    const lastSeq = await section.getAttribute('data-last-seq');
    const t0 = Date.now();
    await page.reload();
    await expect.poll(() => section.getAttribute('data-last-seq'), { timeout: 30_000, interval: 50 }).toBe(lastSeq);
    await expect.poll(() => count('count-completed'), { timeout: 30_000, interval: 50 }).toBe(10_000);
    await expect
      .poll(() => page.getByTestId('charts').getAttribute('data-calls'), { timeout: 30_000, interval: 50 })
      .toBe('10000');
    console.log(`10k run reopened: counters and charts of all ${lastSeq} events in ${Date.now() - t0} ms`);
    expect(await section.getAttribute('data-events-received')).toBe('0');
    // The rows page in behind the counters.
    await expect.poll(() => page.locator('.table-head h3').textContent(), { timeout: 30_000 }).toMatch(/10,000/);
    // Every wait above is a condition with its own bound; the test as a whole gets their sum.
  }, 200_000);

  it('reads one run as a matrix: server-paged rows, search, sort, keyboard opening a trace', async () => {
    expect(tenK).not.toBe('');
    await page.goto(`${url}/#/run/${tenK}/matrix`);
    const matrixCount = page.getByTestId('matrix-count');
    await expect.poll(() => matrixCount.textContent(), { timeout: 30_000 }).toBe('(5,000)');
    // Two columns (the repeats), and only the rows on screen in the DOM.
    expect(await page.locator('[data-column]').count()).toBe(2);
    await page.locator('[data-prompt-index="0"] button.mx-cell').first().waitFor();
    expect(await page.locator('[data-prompt-index]').count()).toBeLessThan(40);
    await shot('matrix', page, false);

    // Scrolled to the end: the last page is fetched from the server, not held in the browser.
    await page.getByTestId('matrix').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.locator('[data-prompt-index="4999"]').waitFor({ timeout: 30_000 });

    // Search over prompts (and outputs): one prompt.
    await page.getByLabel('search prompts and outputs').fill('Prompt 4321');
    await expect.poll(() => matrixCount.textContent(), { timeout: 30_000 }).toBe('(1 of 5,000)');
    expect(
      await page
        .locator('[data-prompt-index]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-prompt-index'))),
    ).toEqual(['4321']);
    await shot('matrix-search', page, false);
    await page.getByLabel('search prompts and outputs').fill('');
    await expect.poll(() => matrixCount.textContent(), { timeout: 30_000 }).toBe('(5,000)');

    // Sorted by the first column's latency, slowest first: the same first rows as the API's order.
    const sortButton = page.getByRole('button', { name: 'sort by E2E Quick latency' }).first();
    await sortButton.click();
    await expect.poll(() => sortButton.textContent()).toBe('latency ▲');
    await sortButton.click();
    await expect.poll(() => sortButton.textContent()).toBe('latency ▼');
    const column = (await page.locator('[data-column]').first().getAttribute('data-column'))!;
    const expected = await api.runs.matrix.query({
      runId: tenK,
      sortField: 'latency',
      sortColumn: column,
      dir: 'desc',
      limit: 5,
    });
    const firstRows = () =>
      page
        .locator('[data-prompt-index]')
        .evaluateAll((els) => els.slice(0, 5).map((e) => Number(e.getAttribute('data-prompt-index'))));
    await expect.poll(firstRows, { timeout: 30_000 }).toEqual(expected.rows.map((r) => r.promptIndex));
    await shot('matrix-sorted', page, false);

    // Keyboard: Tab reaches a cell, arrows move, Enter opens its trace (own URL), Esc closes it.
    const first = page.locator('button.mx-cell[data-row="0"][data-col="0"]');
    await first.focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-row'))).toBe('1');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-col'))).toBe('1');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'trace' }).waitFor();
    await expect.poll(() => page.url()).toMatch(/#\/run\/[^/]+\/matrix\?trace=/);
    await expect.poll(() => page.getByTestId('trace-output').textContent()).not.toBe('');
    await shot('matrix-trace', page, false);
    const deepLink = page.url();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog', { name: 'trace' }).count()).toBe(0);
    // The trace's URL opens it again, on a fresh load.
    await page.goto(`${url}/#/runs`);
    await page.goto(deepLink);
    await page.getByRole('dialog', { name: 'trace' }).waitFor();
  });

  it('compares one run: its models side by side, labelled, the choice in the URL', async () => {
    const mixed = (await api.runs.list.query({ limit: 50 })).runs.find((r) => r.models.length === 2)!;
    await page.goto(`${url}/#/compare`);
    await page
      .locator('label.check', { hasText: mixed.id.slice(-8) })
      .locator('input')
      .check();
    await expect.poll(() => page.url()).toContain(`#/compare?ids=${mixed.id}`);
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await expect.poll(() => page.locator('main').textContent(), { timeout: 15_000 }).toContain('Prompt by prompt');
    const labels = await page.getByTestId('compare-column').allTextContents();
    expect(new Set(labels)).toEqual(new Set(mixed.models.map((m) => m.name)));
    // The first column is the baseline: no delta coloured as better or worse against itself.
    expect(await page.locator('.cell').first().locator('.delta.better, .delta.worse').count()).toBe(0);
    await shot('compare-one-run', page, false);
  });

  it('opened mid-run, starts from the snapshot and its counter never goes backwards', async () => {
    const set = await api.promptSets.create.mutate({
      name: 'mid-run',
      prompts: Array.from({ length: 4000 }, (_, i) => ({ input: `Mid-run prompt ${i}` })),
    });
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Fake']!],
      concurrency: 64,
      delayMs: 0,
    });
    // Opened once the run is well under way, as a user arriving at a running run does.
    let before = 0;
    while (before < 1000) {
      await new Promise((r) => setTimeout(r, 100));
      before = (await api.runs.get.query({ id: run.id })).completedItems;
    }
    const p = await newPage();
    try {
      // Every value the counter shows, recorded in the page as it changes.
      await p.addInitScript(() => {
        const seen: number[] = [];
        (window as unknown as { seenCounts: number[] }).seenCounts = seen;
        new MutationObserver(() => {
          const el = document.querySelector('[data-testid=count-completed]');
          const v = el ? Number(el.textContent!.replace(/,/g, '')) : Number.NaN;
          if (!Number.isNaN(v) && seen.at(-1) !== v) seen.push(v);
        }).observe(document, { subtree: true, childList: true, characterData: true });
      });
      await p.goto(`${url}/#/run/${run.id}`);
      const pcount = async () => Number((await p.getByTestId('count-completed').textContent())!.replace(/,/g, ''));
      await expect.poll(pcount, { timeout: 120_000 }).toBe(4000);
      const seen = await p.evaluate(() => (window as unknown as { seenCounts: number[] }).seenCounts);
      // The first figure shown is the snapshot's: no earlier than what the server had when opened.
      expect(seen[0]).toBeGreaterThanOrEqual(before);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
      expect(seen.at(-1)).toBe(4000);
      // Charts over the whole run: every call in the histogram.
      await expect.poll(() => p.getByTestId('charts').getAttribute('data-calls'), { timeout: 10_000 }).toBe('4000');
    } finally {
      await p.context().close();
    }
  }, 240_000);

  it('keeps the rows on screen current from their events: unfiltered, no page is fetched again each second', async () => {
    const set = await api.promptSets.create.mutate({
      name: 'rows from events',
      prompts: Array.from({ length: 200 }, (_, i) => ({ input: `Row prompt ${i}` })),
    });
    // Two calls at a time of 100 ms: the first rows complete after the page has fetched them.
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Gated']!],
      concurrency: 2,
      delayMs: 0,
    });
    const p = await newPage();
    const itemPages: string[] = [];
    p.on('request', (r) => {
      if (r.url().includes('runs.items')) itemPages.push(r.url());
    });
    let release!: () => void;
    try {
      await p.goto(`${url}/#/run/${run.id}`);
      const pcount = async () => Number((await p.getByTestId('count-completed').textContent())!.replace(/,/g, ''));
      await expect.poll(pcount, { timeout: 30_000 }).toBeGreaterThanOrEqual(30);
      // Held still: the calls in flight wait at the fake, the rest wait for them.
      gated = new Promise<void>((r) => (release = r));
      await expect.poll(() => fake.inFlight()).toBe(2);
      await new Promise((r) => setTimeout(r, 300)); // a call let through before the hold has ended
      const frozen = await api.runs.get.query({ id: run.id });
      await expect.poll(pcount, { timeout: 10_000 }).toBe(frozen.completedItems);
      const before = itemPages.length;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(itemPages.length - before, 'runs.items fetched while nothing moved').toBe(0);
      // What the rows on screen show is what the server holds: every completion reached them as an event.
      const server = (await api.runs.items.query({ runId: run.id, offset: 0, limit: 30 })).items;
      const shown = await p
        .locator('[data-item-id]')
        .evaluateAll((els) => els.map((e) => [e.getAttribute('data-item-id'), e.getAttribute('data-status')] as const));
      const shownStatus = new Map(shown);
      const compared = server.filter((i) => shownStatus.has(i.id));
      expect(compared.length).toBeGreaterThanOrEqual(20);
      for (const i of compared) expect(shownStatus.get(i.id), `prompt ${i.promptIndex}`).toBe(i.status);
      expect(compared.every((i) => i.status === 'completed')).toBe(true);
      // A filter changes which rows match as the run goes: those pages are fetched again each second.
      await p.getByLabel('status filter').selectOption('completed');
      const filteredFrom = itemPages.length;
      await new Promise((r) => setTimeout(r, 2_500));
      expect(itemPages.length - filteredFrom).toBeGreaterThanOrEqual(2);
      await p.getByLabel('status filter').selectOption('');
      release();
      await expect.poll(pcount, { timeout: 60_000 }).toBe(200);
      await expect.poll(() => p.locator('[data-item-id][data-status=completed]').count()).toBeGreaterThan(20);
      expect(await p.locator('[data-item-id]:not([data-status=completed])').count()).toBe(0);
    } finally {
      gated = Promise.resolve();
      release?.();
      await p.context().close();
    }
  }, 120_000);

  it('on a dropped connection shows a banner, then resumes from lastEventId with no row lost or doubled', async () => {
    const set = await demoSet();
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Slow']!],
      // One call at a time, 50 ms apart (~7 s): still running when a page on a loaded machine has
      // loaded and subscribed from its snapshot (which no longer replays what came before).
      concurrency: 1,
      delayMs: 50,
      promptLimit: 40,
    });
    // The page talks to the server through a TCP proxy the test can cut: a real dropped connection.
    const p = await newPage();
    p.setDefaultTimeout(15_000);
    const pcount = async (id: string) => Number((await p.getByTestId(id).textContent())!.replace(/,/g, ''));
    const section = p.locator('section[data-last-seq]');
    try {
      await p.goto(`${proxy.url}/#/run/${run.id}`);
      await expect
        .poll(async () => Number(await section.getAttribute('data-events-received')), { timeout: 15_000 })
        .toBeGreaterThan(10);
      proxy.cut();
      await p.getByRole('status').filter({ hasText: 'Connection lost' }).waitFor({ timeout: 5_000 });
      await shot('run-reconnecting', p, false);
      await new Promise((r) => setTimeout(r, 1_500)); // the run goes on server-side meanwhile
      proxy.restore();
      await expect.poll(() => pcount('count-completed'), { timeout: 30_000 }).toBe(40);
      // The counters can reach 40 through the snapshot refreshes (HTTP) before the WebSocket's
      // backoff (up to 5 s) has reconnected: the banner stays until the socket is open again.
      await expect
        .poll(() => p.getByRole('status').filter({ hasText: 'Connection lost' }).count(), { timeout: 30_000 })
        .toBe(0);
      expect(proxy.cuts).toBeGreaterThan(0);
      // Resumed after the last event applied: every seq after the snapshot's arrived exactly once.
      await expect
        .poll(async () => Number(await section.getAttribute('data-last-seq')), { timeout: 10_000 })
        .toBeGreaterThan(80);
      const [first, last, received] = await Promise.all(
        ['data-first-seq', 'data-last-seq', 'data-events-received'].map(async (a) =>
          Number(await section.getAttribute(a)),
        ),
      );
      expect(received).toBe(last! - first!);
      const ids = await p
        .locator('[data-item-id]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-item-id')));
      expect(new Set(ids).size).toBe(ids.length);
      await expect.poll(() => p.locator('.table-head h3').textContent()).toMatch(/\(40\)/);
      await p.getByLabel('status filter').selectOption('completed');
      await expect.poll(() => p.locator('.table-head h3').textContent()).toMatch(/\(40\)/);
      const fresh = await api.runs.get.query({ id: run.id });
      expect([fresh.completedItems, fresh.totalItems]).toEqual([40, 40]);
    } finally {
      proxy.restore();
      await p.context().close();
    }
  });

  it('renders the other main pages', async () => {
    const runs = (await api.runs.list.query({ limit: 10 })).runs.filter(
      (r) => r.status === 'completed' && r.promptSet.name === 'Demo: explain it',
    );
    for (const [name, hash, text] of [
      ['runs', '#/runs', 'Runs'],
      ['models', '#/models', 'E2E Liar'],
      ['prompt-sets', '#/prompts', 'Demo: explain it'],
      [
        'compare',
        `#/compare?ids=${runs
          .slice(0, 2)
          .map((r) => r.id)
          .join(',')}`,
        'Prompt by prompt',
      ],
    ] as const) {
      await page.goto(`${url}/${hash}`);
      await expect.poll(() => page.locator('main').textContent()).toContain(text);
      await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading'));
      await shot(name, page, name !== 'compare');
    }
    // Credentials are only ever masked.
    expect(await page.content()).not.toContain('sk-e2e');
  });

  it('fits a 390 px screen without sideways page scrolling, and follows a dark system theme', async () => {
    const set = await demoSet();
    const { id: runId } = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models['E2E Fake']!, models['E2E Liar']!],
      concurrency: 4,
      delayMs: 0,
      promptLimit: 6,
      name: 'narrow',
    });
    await expect
      .poll(async () => (await api.runs.get.query({ id: runId })).status, { timeout: 30_000 })
      .toBe('completed');
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const phone = await context.newPage();
    try {
      for (const [name, hash] of [
        ['narrow-runs', '#/runs'],
        ['narrow-run', `#/run/${runId}`],
        ['narrow-matrix', `#/run/${runId}/matrix`],
        ['narrow-new-run', '#/new'],
        ['narrow-models', '#/models'],
        ['narrow-prompts', '#/prompts'],
        ['narrow-compare', `#/compare?ids=${runId}`],
      ] as const) {
        await phone.goto(`${url}/${hash}`);
        await phone.locator('main h1').first().waitFor();
        await phone.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading'), null, {
          timeout: 30_000,
        });
        const { scroll, client } = await phone.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
        }));
        expect(scroll, `${hash} is ${scroll}px wide`).toBeLessThanOrEqual(client);
        await shot(name, phone);
      }
      // Dark: the page and its cards are dark, the text light.
      const colours = await phone.evaluate(() => ({
        body: getComputedStyle(document.documentElement).backgroundColor,
        ink: getComputedStyle(document.documentElement).color,
      }));
      const lum = (rgb: string) => {
        const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      expect(lum(colours.body)).toBeLessThan(40);
      expect(lum(colours.ink)).toBeGreaterThan(200);
    } finally {
      await context.close();
    }
  });

  it('ran every page above under its Content Security Policy without a violation', async () => {
    const res = await fetch(`${url}/`);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(cspViolations).toEqual([]);
  });
});

/**
 * A TCP proxy to `targetOf()` (known once the server is up) that can drop every connection and
 * refuse new ones until restored.
 */
async function startCuttableProxy(targetOf: () => URL) {
  let down = false;
  let cuts = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const target = targetOf();
    const upstream = net.connect(Number(target.port), target.hostname);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', end).on('close', end);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get cuts() {
      return cuts;
    },
    cut() {
      down = true;
      cuts++;
      for (const s of open) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
