// Drives the built CLI as a subprocess against the real server, started as its own process.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type RunningProcess } from '@batchlight/testkit';

const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let dir: string;
let server: RunningProcess;
let url: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BATCHLIGHT_SERVER: url, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'batchlight-cli-'));
  server = await startServerProcess({ DATABASE_URL: `file:${join(dir, 'cli.db')}`, BATCHLIGHT_TOKEN: 'cli-token' });
  url = server.url;
  process.env.BATCHLIGHT_TOKEN = 'cli-token';
  const add = (name: string, simulation: object) =>
    fetch(`${url}/trpc/models.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer cli-token' },
      body: JSON.stringify({ json: { name, provider: 'simulated', providerModel: `${name}-model`, params: { simulation } } }),
    }).then((r) => expect(r.status).toBe(200));
  await add('quick', { latencyMs: 3, outputTokens: { min: 5, max: 10 } });
  await add('broken', { latencyMs: 2, errorRate: 1 });
  await add('liar', { latencyMs: 2, answerAs: 'someone-else' });
  writeFileSync(join(dir, 'prompts.jsonl'), Array.from({ length: 12 }, (_, i) => JSON.stringify({ input: `Question ${i}, with "quotes", commas\nand a newline` })).join('\n'));
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('batchlight CLI against a real server', () => {
  it('follows a run to its per-model table and exits 0', async () => {
    const r = await cli(['run', '--model', 'quick', '--prompts', join(dir, 'prompts.jsonl'), '--concurrency', '4', '--repeats', '2', '--follow']);
    expect(r.stderr).toMatch(/24\/24/);
    expect(r.stdout).toMatch(/model\s+items\s+ok/);
    expect(r.stdout).toMatch(/quick\s+24\s+24\s+0\s+100\.0%/);
    expect(r.stdout).toMatch(/completed: 24 completed, 0 failed/);
    expect(r.code).toBe(0);
  });

  it('exits non-zero when items fail, and when a provider answers as another model', async () => {
    const failed = await cli(['run', '--model', 'broken', '--prompts', 'Demo: explain it', '--limit', '3', '--max-retries', '0', '--follow']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/0 completed, 3 failed/);
    const lied = await cli(['run', '--model', 'liar', '--prompts', 'Demo: explain it', '--limit', '3', '--follow', '--json']);
    expect(lied.code).toBe(1);
    const report = JSON.parse(lied.stdout);
    expect(report).toMatchObject({ status: 'completed', completed: 3, mismatches: 3 });
    const audit = await cli(['audit', report.runId]);
    expect(audit.code).toBe(1);
    expect(audit.stdout).toMatch(/provider_reported_other_model\s+liar\s+liar-model\s+someone-else/);
  });

  it('exports every item as CSV (to a file) and JSONL (to stdout), round-tripping ids and models', async () => {
    const started = JSON.parse((await cli(['run', '--model', 'quick', '--model', 'liar', '--prompts', join(dir, 'prompts.jsonl'), '--follow', '--json'])).stdout);
    const items = JSON.parse((await cli(['show', started.runId, '--json'])).stdout);
    expect(items.totalItems).toBe(24);
    const jsonl = await cli(['export', started.runId, '--format', 'jsonl']);
    expect(jsonl.code).toBe(0);
    const rows = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(24);
    expect(new Set(rows.map((r) => r.item_id)).size).toBe(24);
    for (const r of rows) expect(r.requested_model).toBe(`${r.model_name}-model`);
    expect(rows.filter((r) => r.attribution === 'mismatch').every((r) => r.model_name === 'liar')).toBe(true);

    const file = join(dir, 'out.csv');
    const csv = await cli(['export', started.runId, '--format', 'csv', '-o', file]);
    expect(csv.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^run_id,item_id,prompt_index/);
    // 24 records; each prompt holds a quoted newline, so records span two lines.
    expect(text.match(/^[^,\n]+,[0-9a-f-]{36},/gm)).toHaveLength(24);
    for (const r of rows) expect(text).toContain(r.item_id);
    expect(text).toContain('"Question 0, with ""quotes"", commas\nand a newline"');
  });

  it('gives one-line errors: wrong token, unreachable server, bad argument', async () => {
    const wrong = await cli(['runs'], { BATCHLIGHT_TOKEN: 'nope' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/unauthorized/);

    const down = await cli(['runs', '--server', 'http://127.0.0.1:9']);
    expect(down.code).toBe(3);
    expect(down.stderr.trim()).toBe('batchlight: cannot reach the server at http://127.0.0.1:9 (is `pnpm start` running? set --server or BATCHLIGHT_SERVER)');

    const bad = await cli(['run', '--model', 'quick', '--prompts', 'Demo: explain it', '--concurrency', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/concurrency/);
    for (const r of [wrong, down, bad]) expect(r.stderr).not.toMatch(/\n\s+at /);

    const unknown = await cli(['run', '--model', 'no-such-model', '--prompts', 'x']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, 'batchlight: --model: no model named or with id "no-such-model" (see `batchlight models list`)']);
  });

  it('prints machine-readable JSON with --json', async () => {
    const r = await cli(['models', 'list', '--json']);
    const models = JSON.parse(r.stdout);
    expect(models.map((m: { name: string }) => m.name)).toEqual(expect.arrayContaining(['quick', 'broken', 'liar', 'Simulated Fast']));
    const runs = JSON.parse((await cli(['runs', '--json'])).stdout);
    expect(runs.length).toBeGreaterThanOrEqual(3);
  });
});
