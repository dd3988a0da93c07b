// Scores in the monitor, end to end: the real server process (serving the built monitor), the
// testkit fake as two models, a `contains` scorer, and Debian's Chromium reading the matrix's
// pass/fail cells, the run page's pass rates with their Wilson intervals and compare's sentence.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

/** Ten prompts, each expecting its capital. */
const CITIES = ['Paris', 'Rome', 'Madrid', 'Lisbon', 'Berlin', 'Vienna', 'Prague', 'Warsaw', 'Oslo', 'Dublin'];
const PROMPTS = CITIES.map((city, i) => ({ input: `Q${i}: which capital? (${city})`, expected: city }));

let dir: string;
let server: RunningProcess;
let url: string;
let api: Client;
let fake: FakeServer;
let browser: Browser;
let page: Page;
let runId = '';
const models: Record<string, string> = {};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'batchlight-e2e-scores-'));
  fake = await startFakeOpenAI({
    behavior: (req) => {
      const last = req.messages[req.messages.length - 1]?.content ?? '';
      const i = Number(/^Q(\d+):/.exec(last)?.[1] ?? -1);
      const city = CITIES[i] ?? '?';
      if (req.model === 'good-model') return { latencyMs: 20, content: `The answer is ${city}.` };
      // The weak model: right on Q0 and Q1, wrong on Q2–Q8, and its call for Q9 fails (an error, not a failure).
      if (i === 9) return { fault: '400' };
      return { latencyMs: 20, content: i < 2 ? `It is ${city}.` : 'I am not sure.' };
    },
  });
  server = await startServerProcess({
    DATABASE_URL: `file:${join(dir, 'scores.db')}`,
    LLM_KEY_E2E_SCORES: 'sk-e2e-scores',
    BATCHLIGHT_SECRET_KEY: 'e2e-secret-key-for-tests',
  });
  url = server.url;
  api = createClient({ url }).client;
  for (const [name, providerModel] of [
    ['Strong', 'good-model'],
    ['Weak', 'weak-model'],
  ] as const) {
    const m = await api.models.create.mutate({
      name,
      provider: 'openai',
      providerModel,
      baseUrl: `${fake.url}/v1`,
      credentialEnv: 'LLM_KEY_E2E_SCORES',
      pricing: { inputPerMTok: 1, outputPerMTok: 2 },
    });
    models[name] = m.id;
  }
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('scores in the monitor (Chromium)', () => {
  it('run page: each model’s pass rate with its 95% Wilson interval and its error count', async () => {
    const set = await api.promptSets.create.mutate({ name: 'Capitals', prompts: PROMPTS });
    const run = await api.runs.create.mutate({
      promptSetId: set.id,
      modelIds: [models.Strong!, models.Weak!],
      concurrency: 2,
      delayMs: 0,
      maxRetries: 0,
      scorers: [{ type: 'contains' }],
    });
    runId = run.id;
    await page.goto(`${url}/#/run/${runId}`);
    const strong = page.locator('[data-model="Strong"] [data-testid=pass-rate]');
    const weak = page.locator('[data-model="Weak"] [data-testid=pass-rate]');
    // 10/10: Wilson 72.2–100%. 2 of 9 answered: Wilson 6.3–54.7%, the failed call counted apart.
    await expect.poll(() => strong.textContent(), { timeout: 30_000 }).toMatch(/^100\.0% \(95% CI 72\.2–100\.0%\)/);
    await expect.poll(() => weak.textContent(), { timeout: 30_000 }).toMatch(/^22\.2% \(95% CI 6\.3–54\.7%\)/);
    expect(await weak.getByTestId('score-errors').textContent()).toMatch(/2\/9 · 1 error$/);
    expect(await strong.getByTestId('score-errors').textContent()).toMatch(/10\/10 · 0 errors$/);
    // The same figures as the API's report.
    const report = await api.runs.scores.query({ runId });
    expect(report.models.find((m) => m.modelId === models.Weak)).toMatchObject({ passes: 2, fails: 7, errors: 1 });
    await shot('scores-run-page');
  });

  it('matrix: pass/fail cells, the reason on hover, no verdict on a failed call', async () => {
    await page.goto(`${url}/#/run/${runId}/matrix`);
    const cell = (prompt: number, model: string) =>
      page.getByRole('button', { name: new RegExp(`^${model}, prompt ${prompt}: `) });
    await cell(0, 'Strong').waitFor();
    for (let i = 0; i < 10; i++) await expect.poll(() => cell(i, 'Strong').getAttribute('class')).toMatch(/score-pass/);
    for (const i of [0, 1]) expect(await cell(i, 'Weak').getAttribute('class')).toMatch(/\bscore-pass\b/);
    for (const i of [2, 5, 8]) expect(await cell(i, 'Weak').getAttribute('class')).toMatch(/\bscore-fail\b/);
    // A failed call is an error item with no score: neither pass nor fail.
    expect(await cell(9, 'Weak').getAttribute('data-status')).toBe('failed');
    expect(await cell(9, 'Weak').getAttribute('class')).not.toMatch(/score-/);
    // The reason is the chip's title (shown on hover).
    const chip = cell(3, 'Weak').locator('.score-chip');
    expect(await chip.getAttribute('class')).toMatch(/score-fail/);
    expect(await chip.getAttribute('title')).toMatch(/^contains:expected: fail 0\.00 — .*Lisbon/);
    await chip.hover();
    await shot('scores-matrix');
  });

  it('compare: the significance sentence and the regressed prompts', async () => {
    await page.goto(`${url}/#/compare?ids=${runId}`);
    const sentence = page.getByTestId('significance');
    await expect
      .poll(() => sentence.textContent(), { timeout: 20_000 })
      .toMatch(
        /^Strong is better than Weak by 77\.8 points \(95% CI [\d.]+ to [\d.]+\) of pass rate, on 9 shared prompts \(McNemar p = /,
      );
    expect(await sentence.getAttribute('data-significant')).toBe('true');
    const regressed = page.getByTestId('regressed');
    expect(await regressed.textContent()).toMatch(/^7 regressed prompts/);
    const listed = await regressed.locator('li').allTextContents();
    expect(listed.map((t) => Number(/#(\d+)/.exec(t)![1]))).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(listed[0]).toContain('Madrid');
    await shot('scores-compare');
  });
});
