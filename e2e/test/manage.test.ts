// The monitor's forms and lists in Chromium: the model form (price errors naming the field and
// clearing on edit, params and cached price), a failed connection test naming URL and cause, the
// new-run form's retries and timeout with the API's defaults, a prompt set's page (paged prompts,
// delete refused while a run uses it), the runs list past 100 with search and delete, and the
// import preview numbered by file line. Screenshots go to test-output/.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@batchlight/api/client';
import { RUN_DEFAULTS } from '@batchlight/api/schemas';
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
const models: Record<string, string> = {};
const cspViolations: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'batchlight-e2e-manage-'));
  fake = await startFakeOpenAI({ behavior: { latencyMs: 5 } });
  server = await startServerProcess({
    DATABASE_URL: `file:${join(dir, 'e2e.db')}`,
    LLM_KEY_E2E_FAKE: 'sk-e2e',
    BATCHLIGHT_SECRET_KEY: 'e2e-secret-key-for-tests',
  });
  url = server.url;
  api = createClient({ url }).client;
  for (const [name, providerModel] of [
    ['E2E Fake', 'fake-model'],
    ['E2E Other', 'other-model'],
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
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  await context.exposeFunction('reportCspViolation', (v: string) => cspViolations.push(v));
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { reportCspViolation(v: string): void }).reportCspViolation;
      report(`${e.violatedDirective} ${e.blockedURI}`);
    }),
  );
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const shot = (name: string, on: Page = page, fullPage = true) =>
  on.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
/** The `.field` (a label or fieldset) holding the control named `name`. */
const field = (name: string) => page.locator('.field', { has: page.locator(`[name=${name}]`) });
const fieldError = (name: string) => field(name).locator('.field-error');

async function prompts(name: string, n: number) {
  return api.promptSets.create.mutate({
    name,
    prompts: Array.from({ length: n }, (_, i) => ({ input: `Prompt ${i} of ${name}` })),
  });
}

async function finishedRun(promptSetId: string, name: string, modelId = models['E2E Fake']!) {
  const run = await api.runs.create.mutate({ promptSetId, modelIds: [modelId], concurrency: 4, promptLimit: 1, name });
  await expect
    .poll(async () => (await api.runs.get.query({ id: run.id })).status, { timeout: 20_000 })
    .toBe('completed');
  return run;
}

describe('managing models, runs and prompt sets in Chromium', () => {
  it('model form: price errors name the field and clear when it is edited; params and cached price saved', async () => {
    await page.goto(`${url}/#/models`);
    await page.getByRole('button', { name: 'Add model' }).click();
    await page.locator('input[name=name]').fill('Form Priced');
    await page.locator('input[name=providerModel]').fill('fake-model');
    await page.locator('input[name=baseUrl]').fill(`${fake.url}/v1`);
    await page.locator('input[name=credentialEnv]').fill('LLM_KEY_E2E_FAKE');
    await page.locator('input[name=input]').fill('abc');
    await page.locator('input[name=cached]').fill('-1');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => fieldError('input').textContent()).toBe('input price per 1M tokens: must be a number ≥ 0');
    expect(await fieldError('cached').textContent()).toBe('cached input price per 1M tokens: must be a number ≥ 0');
    expect(await page.content()).not.toMatch(/expected number|Invalid input/);
    await shot('model-form-price-errors');

    // Editing a field clears its error, and only its error.
    await page.locator('input[name=input]').fill('1.5');
    expect(await fieldError('input').count()).toBe(0);
    expect(await fieldError('cached').count()).toBe(1);

    await page.locator('input[name=cached]').fill('0.5');
    await page.locator('input[name=temperature]').fill('0.7');
    await page.locator('input[name=maxTokens]').fill('256');
    await page.locator('input[name=stream]').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    const row = page.locator('tr', { hasText: 'Form Priced' });
    await row.waitFor();
    const saved = (await api.models.list.query()).find((m) => m.name === 'Form Priced')!;
    expect([saved.params, saved.pricing]).toEqual([
      { temperature: 0.7, maxTokens: 256, stream: false },
      { inputPerMTok: 1.5, outputPerMTok: null, cachedInputPerMTok: 0.5 },
    ]);

    // Edit shows what is stored; a change of one field keeps the others.
    await row.getByRole('button', { name: 'Edit' }).click();
    expect(await page.locator('input[name=temperature]').inputValue()).toBe('0.7');
    expect(await page.locator('input[name=maxTokens]').inputValue()).toBe('256');
    expect(await page.locator('input[name=cached]').inputValue()).toBe('0.5');
    expect(await page.locator('input[name=stream]').isChecked()).toBe(false);
    await shot('model-form-edit');
    await page.locator('input[name=temperature]').fill('1.2');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => (await api.models.get.query({ id: saved.id })).params)
      .toEqual({
        temperature: 1.2,
        maxTokens: 256,
        stream: false,
      });
    expect((await api.models.get.query({ id: saved.id })).pricing.cachedInputPerMTok).toBe(0.5);
  });

  it('a failed connection test names the URL it called and the cause', async () => {
    const port = await closedPort();
    await api.models.create.mutate({
      name: 'Nobody Listens',
      provider: 'openai',
      providerModel: 'fake-model',
      baseUrl: `http://127.0.0.1:${port}/v1`,
      credentialEnv: 'LLM_KEY_E2E_FAKE',
    });
    await page.goto(`${url}/#/models`);
    await page.reload(); // the same hash as before: the list is read again
    const row = page.locator('tr', { hasText: 'Nobody Listens' });
    await row.getByRole('button', { name: 'Test' }).click();
    await expect
      .poll(() => row.getByTestId('test-failure').textContent(), { timeout: 30_000 })
      .toContain(`http://127.0.0.1:${port}/v1: connection refused (ECONNREFUSED)`);
    expect(await page.content()).not.toContain('sk-e2e');
    await shot('model-test-refused');
  });

  it('new-run form: the API’s defaults, max retries and timeout reach the run, an edited field loses its error', async () => {
    const set = await prompts('Form run set', 5);
    await page.goto(`${url}/#/new?set=${set.id}`);
    const value = (name: string) => page.locator(`input[name=${name}]`).inputValue();
    await expect.poll(() => value('concurrency')).toBe(String(RUN_DEFAULTS.concurrency));
    expect([
      await value('delayMs'),
      await value('repeats'),
      await value('maxRetries'),
      await value('timeoutMs'),
    ]).toEqual(
      [RUN_DEFAULTS.delayMs, RUN_DEFAULTS.repeats, RUN_DEFAULTS.maxRetries, RUN_DEFAULTS.timeoutMs].map(String),
    );
    await page.getByText('E2E Fake').click();
    await page.locator('input[name=maxRetries]').fill('11');
    await page.locator('input[name=timeoutMs]').fill('50');
    await page.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => fieldError('maxRetries').textContent()).toMatch(/between 0 and 10/);
    expect(await fieldError('timeoutMs').textContent()).toMatch(/between 100 and 600000/);
    await shot('new-run-retries-timeout-errors');
    await page.locator('input[name=maxRetries]').fill('1');
    expect(await fieldError('maxRetries').count()).toBe(0);
    expect(await fieldError('timeoutMs').count()).toBe(1);
    await page.locator('input[name=timeoutMs]').fill('2500');
    expect(await fieldError('timeoutMs').count()).toBe(0);
    await page.locator('input[name=name]').fill('retries and timeout');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/run\//);
    const run = await api.runs.get.query({ id: page.url().split('#/run/')[1]! });
    expect([run.name, run.maxRetries, run.timeoutMs, run.concurrency]).toEqual([
      'retries and timeout',
      1,
      2500,
      RUN_DEFAULTS.concurrency,
    ]);
  });

  it('a prompt set’s page: prompts paged by the server, delete refused while a run uses the set, then done', async () => {
    const set = await prompts('Paged set', 120);
    await page.goto(`${url}/#/prompts`);
    await page.getByRole('link', { name: 'Paged set' }).click();
    await page.waitForURL(new RegExp(`#/prompts/${set.id}$`));
    const range = page.getByTestId('prompt-range');
    await expect.poll(() => range.textContent()).toBe('Prompts 1–50 of 120');
    expect(await page.locator('tr[data-index]').count()).toBe(50);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent()).toBe('Prompts 51–100 of 120');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => range.textContent()).toBe('Prompts 101–120 of 120');
    expect(await page.locator('tr[data-index="119"]').textContent()).toContain('Prompt 119 of Paged set');
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await shot('prompt-set-page');

    const run = await finishedRun(set.id, 'holds the set');
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByTestId('confirm-delete').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/run "holds the set" \(completed\)/);
    await shot('prompt-set-delete-refused');
    expect((await api.promptSets.get.query({ id: set.id })).promptCount).toBe(120);

    await api.runs.delete.mutate({ id: run.id });
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByTestId('confirm-delete').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/#\/prompts$/);
    await expect.poll(async () => (await api.promptSets.list.query()).some((s) => s.id === set.id)).toBe(false);
    expect(await page.locator('main').textContent()).not.toContain('Paged set');
  });

  it('runs list: older runs past 100, search by run or model name, delete of a finished run', async () => {
    const set = await prompts('Bulk set', 1);
    for (let i = 0; i < 101; i++) {
      await api.runs.create.mutate({
        promptSetId: set.id,
        modelIds: [models['E2E Fake']!],
        concurrency: 1,
        name: `bulk-${i}`,
      });
    }
    await finishedRun(set.id, 'the other model', models['E2E Other']!);
    await expect
      .poll(async () => (await api.runs.list.query({ limit: 200 })).runs.every((r) => r.status === 'completed'), {
        timeout: 30_000,
      })
      .toBe(true);
    const total = (await api.runs.list.query({ limit: 200 })).runs.length;
    expect(total).toBeGreaterThan(100);

    await page.goto(`${url}/#/runs`);
    const rows = page.locator('tr[data-run-id]');
    await expect.poll(() => rows.count()).toBe(100);
    await page.getByRole('button', { name: 'Older runs' }).click();
    await expect.poll(() => rows.count()).toBe(total);
    expect(await page.getByRole('button', { name: 'Older runs' }).count()).toBe(0);

    const search = page.locator('input[name=search]');
    await search.fill('BULK-10');
    const names = () => rows.locator('td:first-child a').allTextContents();
    await expect.poll(async () => (await names()).sort()).toEqual(['bulk-10', 'bulk-100']);
    await search.fill('e2e other');
    await expect.poll(names).toEqual(['the other model']);
    await shot('runs-search');

    await search.fill('bulk-100');
    await expect.poll(names).toEqual(['bulk-100']);
    const id = (await rows.first().getAttribute('data-run-id'))!;
    await rows.first().getByRole('button', { name: 'Delete…' }).click();
    await shot('runs-delete-confirm');
    await page.getByTestId('confirm-delete').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => rows.count()).toBe(0);
    await expect
      .poll(() =>
        api.runs.get.query({ id }).then(
          () => 'there',
          () => 'gone',
        ),
      )
      .toBe('gone');
    await search.fill('');
    await expect.poll(() => rows.count()).toBe(100);
  });

  it('import preview numbers prompts by file line as errors are; the "Imported" notice clears', async () => {
    await page.goto(`${url}/#/prompts`);
    await page.locator('input[name=setName]').fill('Lines');
    await page.locator('select[name=format]').selectOption('csv');
    const content = page.locator('textarea[name=content]');
    await content.fill('input,expected\n"two\nlines",a\nsecond,b\nonly-one-field\n');
    await expect.poll(() => page.getByTestId('import-errors').textContent()).toMatch(/line 5: expected 2 fields/);
    expect(await page.getByTestId('import-preview').locator('li').allTextContents()).toEqual([
      'line 2two\nlines',
      'line 4second',
    ]);
    await shot('import-preview-lines');

    await content.fill('input,expected\n"two\nlines",a\nsecond,b\n');
    await expect.poll(() => page.locator('.preview').textContent()).toMatch(/2 prompts ready/);
    await page.getByRole('button', { name: 'Import' }).click();
    const notice = page.getByTestId('import-saved');
    await expect.poll(() => notice.textContent()).toBe('Imported 2 prompts as "Lines".');
    await content.fill('{"input": "next"}');
    expect(await notice.count()).toBe(0);

    await page.locator('select[name=format]').selectOption('jsonl');
    await page.locator('input[name=setName]').fill('Lines again');
    await page.getByRole('button', { name: 'Import' }).click();
    await expect.poll(() => notice.count()).toBe(1);
    await expect.poll(() => notice.count(), { timeout: 15_000 }).toBe(0); // gone after a few seconds
  });

  it('the new views fit 390 px without sideways page scrolling', async () => {
    const set = await prompts('Narrow set with a rather long name to wrap', 60);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const phone = await context.newPage();
    try {
      for (const [name, hash] of [
        ['narrow-prompt-set', `#/prompts/${set.id}`],
        ['narrow-runs-search', '#/runs'],
        ['narrow-new-run-retries', '#/new'],
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
        await shot(name, phone, false);
      }
      await phone.goto(`${url}/#/models`);
      await phone.getByRole('button', { name: 'Add model' }).click();
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(390);
      await shot('narrow-model-form', phone, false);
    } finally {
      await context.close();
    }
  });

  it('ran every page above under its Content Security Policy without a violation', () => {
    expect(cspViolations).toEqual([]);
  });
});

/** A port nothing listens on: one the system gave us, closed again. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
