// Drives the built CLI (dist/main.js) as a subprocess against the real server, started as its own
// process on a free port with a fresh SQLite database and a token.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { csvRecords } from '@batchlight/api';
import { type Client, createClient } from '@batchlight/api/client';
import { type RunningProcess, startServerProcess } from '@batchlight/server/testing';
import { type FakeServer, startFakeOpenAI } from '@batchlight/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = 'cli-token-0123456789';

let dir: string;
let server: RunningProcess;
let url: string;
let api: Client;
let fake: FakeServer;
/** Opens the fake's gate: the calls of the `gated` model wait for it. */
let releaseGate: () => void;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, BATCHLIGHT_SERVER: url, BATCHLIGHT_TOKEN: TOKEN, ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A user error is exactly one line on stderr, with no stack trace. */
function expectOneLine(r: Result) {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|TRPCClientError/);
}

/** Every quote a message opens, it closes. */
function expectBalancedQuotes(text: string) {
  for (const q of ["'", '"', '`']) expect(text.split(q).length % 2, `${q} in ${text}`).toBe(1);
}

/** The CLI as a subprocess whose stderr can be watched while it runs. */
function cliWatched(args: string[]): { stderrHas(re: RegExp): Promise<void>; done: Promise<Result> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, BATCHLIGHT_SERVER: url, BATCHLIGHT_TOKEN: TOKEN },
  });
  let stdout = '';
  let stderr = '';
  const waiting: Array<{ re: RegExp; resolve(): void }> = [];
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const w of waiting.filter((x) => x.re.test(stderr))) w.resolve();
  });
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })),
  );
  return {
    stderrHas: (re) =>
      re.test(stderr)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiting.push({ re, resolve })),
            done.then((r) => {
              throw new Error(`the CLI ended (${r.code}) before its stderr matched ${re}: ${r.stderr}`);
            }),
          ]),
    done,
  };
}

/** A run through the typed API on the demo prompt set. */
async function startRun(models: string[], settings: { limit: number; concurrency?: number; name?: string }) {
  const all = await api.models.list.query({ includeArchived: false });
  const sets = await api.promptSets.list.query();
  return api.runs.create.mutate({
    promptSetId: sets.find((s) => s.name === 'Demo: explain it')!.id,
    modelIds: models.map((n) => all.find((m) => m.name === n)!.id),
    concurrency: settings.concurrency ?? 4,
    promptLimit: settings.limit,
    maxRetries: 0,
    name: settings.name ?? null,
  });
}

/** Every item id of a run, through the typed API (runs.items pages). */
async function itemIds(runId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.runs.items.query({ runId, cursor, limit: 1000 });
    ids.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/** The rows of a CSV text, through the import's reader (one CSV parser in the repository). */
function parseCsv(text: string): string[][] {
  const records = csvRecords(text);
  if (!Array.isArray(records)) throw new Error(`line ${records.line}: ${records.message}`);
  return records.map((r) => r.fields);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'batchlight-cli-'));
  const gate = new Promise<void>((resolve) => (releaseGate = resolve));
  fake = await startFakeOpenAI({ behavior: { latencyMs: 2, gate: () => gate } });
  server = await startServerProcess({
    DATABASE_URL: `file:${join(dir, 'cli.db')}`,
    BATCHLIGHT_TOKEN: TOKEN,
    LLM_KEY_CLI_FAKE: 'sk-cli-fake',
  });
  url = server.url;
  api = createClient({ url, token: TOKEN }).client;
  // Fast simulated models, added through the CLI itself.
  const add = (name: string, simulation: object) =>
    cli([
      'models',
      'add',
      '--name',
      name,
      '--provider',
      'simulated',
      '--provider-model',
      `${name}-model`,
      '--params',
      JSON.stringify({ simulation }),
      '--price-in',
      '1',
      '--price-out',
      '2',
    ]);
  const added = await Promise.all([
    add('quick', { latencyMs: 3, outputTokens: { min: 5, max: 10 } }),
    add('broken', { latencyMs: 2, errorRate: 1 }),
    add('liar', { latencyMs: 2, answerAs: 'someone-else' }),
    add('slow', { latencyMs: 150 }),
    // Answers of 20-30 tokens, cut at 8 (finish_reason length).
    cli([
      'models',
      'add',
      '--name',
      'terse',
      '--provider',
      'simulated',
      '--provider-model',
      'terse-model',
      '--params',
      JSON.stringify({ maxTokens: 8, simulation: { latencyMs: 2, outputTokens: { min: 20, max: 30 } } }),
    ]),
  ]);
  for (const r of added) expect([r.code, r.stderr]).toEqual([0, '']);
  // Its calls wait at the fake until the test opens the gate.
  await api.models.create.mutate({
    name: 'gated',
    provider: 'openai',
    providerModel: 'gated-model',
    baseUrl: `${fake.url}/v1`,
    credentialEnv: 'LLM_KEY_CLI_FAKE',
  });
  writeFileSync(
    join(dir, 'prompts.jsonl'),
    Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({ input: `Question ${i}, with "quotes", commas\nand a newline`, expected: `answer ${i}` }),
    ).join('\n'),
  );
});

afterAll(async () => {
  releaseGate?.();
  await server?.stop();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('batchlight CLI against a real server', () => {
  it('run --follow imports a prompt file, shows progress, prints the per-model table and exits 0', async () => {
    const r = await cli([
      'run',
      '--model',
      'quick',
      '--prompts',
      join(dir, 'prompts.jsonl'),
      '--concurrency',
      '4',
      '--repeats',
      '2',
      '--follow',
    ]);
    expect(r.stderr).toMatch(/24\/24 +✓24 ✗0/);
    const columns = ['model', 'items', 'ok', 'failed', 'success', 'p50', 'p95', 'ttft p50', 'tokens in/out', 'cost'];
    const head = new RegExp([...columns, 'length', 'mismatch'].join('\\s+'));
    expect(r.stdout).toMatch(head);
    expect(r.stdout).toMatch(/quick\s+24\s+24\s+0\s+100\.0%\s+\d+ms\s+\d+ms\s+\d+ms\s+\d+\/\d+\s+\$[\d.]+\s+0\s+0\n/);
    expect(r.stdout).toMatch(/completed: 24 completed, 0 failed/);
    expect(r.code).toBe(0);
  });

  it('counts answers cut off by max tokens (finish_reason length) as completed, and show names them', async () => {
    const r = await cli([
      'run',
      '--model',
      'terse',
      '--model',
      'quick',
      '--prompts',
      'Demo: explain it',
      '--limit',
      '4',
      '--follow',
    ]);
    expect(r.stdout).toMatch(/terse\s+4\s+4\s+0\s+100\.0%.*\s4\s+0\n/);
    expect(r.stdout).toMatch(/quick\s+4\s+4\s+0\s+100\.0%.*\s0\s+0\n/);
    expect(r.code).toBe(0);
    const runId = /run (\S+) completed/.exec(r.stdout)![1]!;
    const shown = await cli(['show', runId]);
    expect(shown.stdout).toMatch(/4 answer\(s\) cut off by max tokens \(finish_reason length\)/);
  });

  it('exits 1 when items fail', async () => {
    const r = await cli([
      'run',
      '--model',
      'broken',
      '--model',
      'quick',
      '--prompts',
      'Demo: explain it',
      '--limit',
      '3',
      '--max-retries',
      '0',
      '--follow',
    ]);
    expect(r.stdout).toMatch(/broken\s+3\s+0\s+3\s+0\.0%/);
    expect(r.stdout).toMatch(/quick\s+3\s+3\s+0\s+100\.0%/);
    expect(r.stdout).toMatch(/3 completed, 3 failed/);
    expect(r.code).toBe(1);
  });

  it('exits 1 and says mismatch when a provider answers as another model; audit names it; follow replays the same verdict', async () => {
    const r = await cli(['run', '--model', 'liar', '--prompts', 'Demo: explain it', '--limit', '3', '--follow']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/liar\s+3\s+3\s+0\s+100\.0%.*\s3\n/);
    expect(r.stdout).toMatch(/3 attribution mismatch\(es\): see batchlight audit/);
    const runId = /run (\S+) completed/.exec(r.stdout)![1]!;

    const audit = await cli(['audit', runId]);
    expect(audit.code).toBe(1);
    expect(audit.stdout).toMatch(/PROBLEMS/);
    expect(audit.stdout).toMatch(/liar\s+liar-model\s+someone-else/);

    const again = await cli(['follow', runId, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({
      runId,
      status: 'completed',
      completed: 3,
      failed: 0,
      mismatches: 3,
      models: [{ model: 'liar', mismatches: 3 }],
    });
  });

  it('exports every item as CSV and JSONL, to a file and to stdout, matching runs.items', async () => {
    const run = JSON.parse(
      (
        await cli([
          'run',
          '--model',
          'quick',
          '--model',
          'liar',
          '--prompts',
          join(dir, 'prompts.jsonl'),
          '--follow',
          '--json',
        ])
      ).stdout,
    );
    const ids = (await itemIds(run.runId)).sort();
    expect(ids).toHaveLength(24);

    const [jsonlOut, csvOut, jsonlFile, csvFile] = await Promise.all([
      cli(['export', run.runId, '--format', 'jsonl']),
      cli(['export', run.runId, '--format', 'csv']),
      cli(['export', run.runId, '--format', 'jsonl', '-o', join(dir, 'out.jsonl')]),
      cli(['export', run.runId, '--format', 'csv', '--output', join(dir, 'out.csv'), '--json']),
    ]);
    for (const r of [jsonlOut, csvOut, jsonlFile, csvFile])
      expect([r.code, r.stderr.replace(/^wrote .*\n/, '')]).toEqual([0, '']);
    expect(JSON.parse(csvFile.stdout)).toMatchObject({ runId: run.runId, format: 'csv', file: join(dir, 'out.csv') });

    for (const text of [jsonlOut.stdout, readFileSync(join(dir, 'out.jsonl'), 'utf8')]) {
      const rows = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rows.map((x) => x.item_id).sort()).toEqual(ids);
      for (const x of rows) expect(x.requested_model).toBe(`${x.model_name}-model`);
      expect(rows.filter((x) => x.attribution === 'mismatch').map((x) => x.model_name)).toEqual(Array(12).fill('liar'));
      expect(rows.find((x) => x.prompt_index === 0).prompt).toBe('Question 0, with "quotes", commas\nand a newline');
    }
    for (const text of [csvOut.stdout, readFileSync(join(dir, 'out.csv'), 'utf8')]) {
      const [header, ...rows] = parseCsv(text);
      expect(header!.slice(0, 3)).toEqual(['run_id', 'item_id', 'prompt_index']);
      expect(rows.map((x) => x[header!.indexOf('item_id')]).sort()).toEqual(ids);
      expect(
        rows.some((x) => x[header!.indexOf('prompt')] === 'Question 0, with "quotes", commas\nand a newline'),
      ).toBe(true);
    }
  });

  it('export of an unknown run fails in one line and leaves no file', async () => {
    const file = join(dir, 'none.csv');
    const r = await cli(['export', 'no-such-run', '--format', 'csv', '-o', file]);
    expect(r.code).toBe(2);
    expectOneLine(r);
    expect(r.stderr).toMatch(/run no-such-run not found/);
    expect(existsSync(file)).toBe(false);
  });

  it('cancel stops a run (follow exits 1, cancelled); resume finishes it (follow exits 0, completed)', async () => {
    // 40 calls of 150 ms one at a time: the cancel lands mid-run even when starting the CLI is slow.
    const started = JSON.parse(
      (
        await cli([
          'run',
          '--model',
          'slow',
          '--prompts',
          'Demo: explain it',
          '--limit',
          '40',
          '--concurrency',
          '1',
          '--json',
        ])
      ).stdout,
    );
    const cancelled = await cli(['cancel', started.id, '--json']);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: started.id, status: 'cancelled' });
    const r = await cli(['follow', started.id]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`run ${started.id} cancelled: \\d+ completed, 0 failed, \\d+ cancelled`));

    // The pause between the stretches counts in the wall time, not in the active time.
    const pauseMs = 1500;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    // The resumed run's log now holds two run.finished events; follow waits for the last one.
    const resumed = await cli(['resume', started.id]);
    expect([resumed.code, resumed.stdout]).toEqual([0, expect.stringMatching(/: (queued|running);/)]);
    const done = await cli(['follow', started.id]);
    expect(done.stdout).toMatch(
      new RegExp(`run ${started.id} completed: 40 completed, 0 failed in \\S+ \\(wall \\S+\\)`),
    );
    expect(done.code).toBe(0);
    const shown = await cli(['show', started.id]);
    expect(shown.stdout).toMatch(/· active \S+ · wall \S+ · \d+\.\d items\/s\n/);
    const json = JSON.parse((await cli(['show', started.id, '--json'])).stdout);
    // Active time covers both stretches: more than the second one alone, less than the wall time by the pause.
    expect(json.wallMs - json.activeMs).toBeGreaterThanOrEqual(pauseMs - 50);
    expect(json.activeMs).toBeGreaterThan(0);
  });

  it('gives one-line errors: wrong token, unreachable server, bad arguments', async () => {
    const wrong = await cli(['runs'], { BATCHLIGHT_TOKEN: 'nope' });
    expect(wrong.code).toBe(3);
    expectOneLine(wrong);
    expect(wrong.stderr).toMatch(/^batchlight: unauthorized/);
    const none = await cli(['follow', 'x'], { BATCHLIGHT_TOKEN: '' });
    expect(none.code).toBe(3);
    expectOneLine(none);

    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const down = await cli(['runs', '--server', `http://127.0.0.1:${closed}`]);
    expect(down.code).toBe(3);
    expect(down.stderr.trim()).toBe(
      `batchlight: cannot reach the server at http://127.0.0.1:${closed} (is \`pnpm start\` running? set --server or BATCHLIGHT_SERVER)`,
    );

    const other = createHttpServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<!doctype html><p>not here</p>'),
    );
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    const notApi = await cli(['runs', '--server', otherUrl]);
    other.close();
    expect(notApi.code).toBe(3);
    expect(notApi.stderr.trim()).toBe(
      `batchlight: the server at ${otherUrl} did not answer as a batchlight API: is --server the right URL?`,
    );

    const checks: Array<[string[], RegExp]> = [
      [
        ['run', '--model', 'quick', '--prompts', join(dir, 'prompts.jsonl'), '--concurrency', '0'],
        /^batchlight: --concurrency: must be between 1 and 256, got 0$/,
      ],
      [
        ['run', '--model', 'quick', '--prompts', 'Demo: explain it', '--delay', 'soon'],
        /^batchlight: --delay: expected a whole number, got "soon"$/,
      ],
      [
        ['run', '--model', 'no-such-model', '--prompts', 'Demo: explain it'],
        /^batchlight: --model: no model named or with id "no-such-model"/,
      ],
      [
        ['run', '--model', 'quick', '--prompts', 'no-such-set'],
        /^batchlight: --prompts: "no-such-set" is neither a file nor a prompt set/,
      ],
      [
        [
          'models',
          'add',
          '--name',
          'bad',
          '--provider',
          'simulated',
          '--provider-model',
          'x',
          '--base-url',
          'not a url',
        ],
        /^batchlight: baseUrl: must be an http\(s\) URL$/,
      ],
      [['export', 'x', '--format', 'xml'], /^batchlight: --format: csv or jsonl$/],
      [['runs', '--bogus'], /^batchlight: Unknown option '--bogus'/],
      [['frobnicate'], /^batchlight: unknown command "frobnicate"/],
    ];
    const results = await Promise.all(checks.map(([args]) => cli(args)));
    results.forEach((r, i) => {
      expect(r.code, checks[i]![0].join(' ')).toBe(2);
      expectOneLine(r);
      expect(r.stderr.trim()).toMatch(checks[i]![1]);
    });
    // The bad --concurrency was caught before the prompt file was imported.
    expect((await api.promptSets.list.query()).filter((s) => s.name === 'prompts.jsonl')).toHaveLength(2);

    const jsonErr = await cli(['runs', '--json'], { BATCHLIGHT_TOKEN: 'nope' });
    expect(JSON.parse(jsonErr.stderr)).toMatchObject({ exitCode: 3, error: expect.stringMatching(/unauthorized/) });
  });

  it('sends a create again, same requestId, when the connection breaks before the answer: created once', async () => {
    // In front of the server: the first call of each create mutation goes through, and the
    // connection is dropped when its answer comes. The server did it; the CLI saw a broken socket.
    const cut = new Set<string>();
    const proxy = createHttpServer((req, res) => {
      const path = req.url ?? '/';
      const creates = ['runs.create', 'models.create', 'promptSets.import'];
      const procedure = creates.find((p) => path.startsWith(`/trpc/${p}?`));
      const headers = { ...req.headers, host: new URL(url).host };
      const upstream = request(`${url}${path}`, { method: req.method, headers }, (answer) => {
        if (procedure && !cut.has(procedure)) {
          cut.add(procedure);
          answer.resume();
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = { BATCHLIGHT_SERVER: `http://127.0.0.1:${(proxy.address() as { port: number }).port}` };
    try {
      const runsBefore = (await api.runs.list.query({ limit: 200 })).runs.length;
      const via = (args: string[]) => cli([...args, '--json'], viaProxy);
      const added = await via([
        'models',
        'add',
        '--name',
        'via-proxy',
        '--provider',
        'simulated',
        '--provider-model',
        'v',
      ]);
      const imported = await via(['prompts', 'import', join(dir, 'prompts.jsonl'), '--name', 'via-proxy']);
      const ran = await via(['run', '--model', 'quick', '--prompts', 'Demo: explain it', '--limit', '2']);
      expect([...cut].sort()).toEqual(['models.create', 'promptSets.import', 'runs.create']);
      for (const r of [added, imported, ran]) expect([r.code, r.stderr]).toEqual([0, '']);
      const models = await api.models.list.query({ includeArchived: true });
      expect(models.filter((m) => m.name === 'via-proxy').map((m) => m.id)).toEqual([JSON.parse(added.stdout).id]);
      const sets = await api.promptSets.list.query();
      expect(sets.filter((s) => s.name === 'via-proxy').map((s) => s.id)).toEqual([JSON.parse(imported.stdout).id]);
      const runs = (await api.runs.list.query({ limit: 200 })).runs;
      expect(runs.length).toBe(runsBefore + 1);
      expect(runs[0]!.id).toBe(JSON.parse(ran.stdout).id);
    } finally {
      proxy.close();
    }
  });

  it('prints machine-readable JSON with --json', async () => {
    const [models, runs, sets, imported] = await Promise.all([
      cli(['models', 'list', '--json']),
      cli(['runs', '--json', '--limit', '3']),
      cli(['prompts', 'list', '--json']),
      cli(['prompts', 'import', join(dir, 'prompts.jsonl'), '--name', 'imported', '--json']),
    ]);
    expect(JSON.parse(models.stdout).map((m: { name: string }) => m.name)).toEqual(
      expect.arrayContaining(['quick', 'broken', 'liar', 'Simulated Fast']),
    );
    const runList = JSON.parse(runs.stdout);
    expect(runList).toHaveLength(3);
    expect(JSON.parse(sets.stdout).map((s: { name: string }) => s.name)).toContain('Demo: explain it');
    expect(JSON.parse(imported.stdout)).toMatchObject({ name: 'imported', promptCount: 12 });
    const shown = JSON.parse((await cli(['show', runList[0].id, '--json'])).stdout);
    expect(shown).toMatchObject({ id: runList[0].id, summary: expect.any(Array) });
    const test = JSON.parse((await cli(['models', 'test', 'quick', '--json'])).stdout);
    expect(test).toMatchObject({ ok: true, attribution: 'match' });
  });

  it('models test of a model nobody answers names the URL and the cause, and exits 1', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await api.models.create.mutate({
      name: 'nowhere',
      provider: 'openai',
      providerModel: 'gpt-x',
      baseUrl: `http://127.0.0.1:${port}/v1`,
    });
    const r = await cli(['models', 'test', 'nowhere']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`^failed after \\d+ms: http://127\\.0\\.0\\.1:${port}/v1: connection refused \\(ECONNREFUSED\\)`),
    );
  });
});

describe('strict arguments', () => {
  it('refuses an argument or option a command does not take, naming it (exit 2), and starts nothing', async () => {
    const run = await startRun(['quick'], { limit: 1 });
    const runsBefore = (await api.runs.list.query({ limit: 200 })).runs.length;
    const checks: Array<[string[], RegExp]> = [
      [
        ['run', '--model', 'quick', 'liar', '--prompts', 'Demo: explain it', '--limit', '1'],
        /^batchlight: run: unexpected argument 'liar' \(several models: --model A --model B, or --model A,B\)/,
      ],
      [['audit', run.id, 'other-run'], /^batchlight: audit: unexpected argument 'other-run' \(audit takes <runId>\)/],
      [['show', run.id, 'junk'], /^batchlight: show: unexpected argument 'junk'/],
      [['runs', 'all'], /^batchlight: runs: unexpected argument 'all' \(runs takes no arguments\)/],
      [['models', 'list', 'extra'], /^batchlight: models list: unexpected argument 'extra'/],
      [['cancel'], /^batchlight: cancel: missing <runId> \(see batchlight cancel --help\)$/],
      [['models', 'frob'], /^batchlight: unknown command "models frob" \(see batchlight models --help\)$/],
      [['runs', '--prompts', 'x'], /^batchlight: Unknown option '--prompts' for runs \(see batchlight runs --help\)$/],
      [['show', run.id, '--follow'], /^batchlight: Unknown option '--follow' for show/],
      [['follow', run.id, '--json=yes'], /^batchlight: Option '--json' does not take an argument/],
      [['run', '--model'], /^batchlight: Option '--model <value>' argument missing/],
      [['runs', '-x'], /^batchlight: Unknown option '-x' for runs/],
    ];
    const results = await Promise.all(checks.map(([args]) => cli(args)));
    results.forEach((r, i) => {
      const label = checks[i]![0].join(' ');
      expect(r.code, label).toBe(2);
      expectOneLine(r);
      expect(r.stderr.trim(), label).toMatch(checks[i]![1]);
      expectBalancedQuotes(r.stderr);
    });
    expect((await api.runs.list.query({ limit: 200 })).runs.length).toBe(runsBefore);
    const unknown = await cli(['runs', '--bogus']);
    expectBalancedQuotes(unknown.stderr);
  });

  it('takes several models as repeated --model options, comma lists, or both', async () => {
    const r = await cli([
      'run',
      '--model',
      'quick,terse',
      '--model',
      'slow',
      '--prompts',
      'Demo: explain it',
      '--limit',
      '2',
      '--follow',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.models.map((m: { model: string }) => m.model).sort()).toEqual(['quick', 'slow', 'terse']);
    expect(out.total).toBe(6);
    const unknown = await cli(['run', '--model', 'quick,nobody', '--prompts', 'Demo: explain it']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      2,
      expect.stringMatching(/^batchlight: --model: no model named or with id "nobody"/),
    ]);
  });

  it('prints the help of one command with <command> --help (and help <command>)', async () => {
    const [run, add, help, all, models] = await Promise.all([
      cli(['run', '--help']),
      cli(['models', 'add', '--help']),
      cli(['help', 'audit']),
      cli(['--help']),
      cli(['models', '--help']),
    ]);
    for (const r of [run, add, help, all, models]) expect([r.code, r.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(/^usage: batchlight run --model <name\|id>/);
    expect(run.stdout).toMatch(/--concurrency N=4\].*--max-retries N=3\].*--timeout MS=60000\]/s);
    expect(run.stdout).not.toMatch(/models add|prompts import/);
    expect(add.stdout).toMatch(/^usage: batchlight models add .*--provider openai\|huggingface\|simulated/s);
    expect(help.stdout).toMatch(/^usage: batchlight audit <runId> \[--wait\] \[--strict\]/);
    expect(models.stdout).toMatch(/^usage: batchlight models <command>/);
    for (const sub of ['list', 'add', 'test']) expect(models.stdout).toMatch(new RegExp(`^  models ${sub}\\b`, 'm'));
    expect(models.stdout).not.toMatch(/prompts import/);
    for (const command of ['run', 'follow', 'runs', 'show', 'cancel', 'resume', 'export', 'audit', 'compare', 'studio'])
      expect(all.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(all.stdout).toMatch(/--status queued\|running\|completed\|failed\|cancelled\|interrupted/);
  });
});

describe('scores', () => {
  it('run --scorer scores every answer; show and score print pass rates with intervals; --fail-under gates (exit 1 below)', async () => {
    const passing = await cli([
      'run',
      '--model',
      'quick,slow',
      '--prompts',
      'Demo: explain it',
      '--limit',
      '5',
      '--scorer',
      '{"type":"length","min":1}',
      '--scorer',
      'is-json',
      '--follow',
      '--fail-under',
      'overall:0',
    ]);
    expect(passing.stdout).toMatch(/pass rate \(95% CI\)/);
    // Plain answers are not JSON: every item fails is-json (a failure, not an error).
    expect(passing.stdout).toMatch(/quick\s+all\s+0\s+5\s+0\s+0\.0% \(0\.0–43\.4%\)/);
    expect(passing.stdout).toMatch(/length:1\.\.\s+5\s+0\s+0\s+100\.0% \(56\.6–100\.0%\)/);
    expect(passing.code).toBe(0);
    const runId = /run (\S+) completed/.exec(passing.stdout)![1]!;

    const gated = await cli(['show', runId, '--fail-under', '0.5']);
    expect(gated.stdout).toMatch(/--fail-under 0\.5: quick 0\.0%, slow 0\.0%/);
    expect(gated.code).toBe(1);

    // Re-scored with the same name: is-json now passes nothing still; a new scorer passes everything.
    const rescored = await cli([
      'score',
      runId,
      '--scorer',
      '{"type":"length","min":1,"name":"is-json"}',
      '--fail-under',
      '0.9',
    ]);
    expect(rescored.stdout).toMatch(
      /scored 10 answered item\(s\): 10 score\(s\), 0 judge call\(s\), no tested-model call/,
    );
    expect(rescored.code).toBe(0);
    const json = JSON.parse((await cli(['show', runId, '--json'])).stdout);
    expect(json.scores.overall).toMatchObject({ passes: 10, fails: 0, errors: 0 });

    const bad = await cli(['show', runId, '--fail-under', '1.5']);
    expect(bad.code).toBe(2);
    expectOneLine(bad);
    expect(bad.stderr).toMatch(/--fail-under: a pass rate between 0 and 1/);
    const code = await cli(['score', runId, '--scorer', 'javascript: 1']);
    expect(code.code).toBe(2);
    expect(code.stderr).toMatch(/--scorer: 1\.type: "javascript" runs user code/);
  });
});

describe('compare', () => {
  it('labels each run by its name, or the last 8 characters of its id (the first 8 are a timestamp)', async () => {
    const named = await startRun(['quick'], { limit: 2, name: 'baseline' });
    const unnamed = await startRun(['quick', 'terse'], { limit: 2 });
    const r = await cli(['compare', named.id, unnamed.id]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => /^baseline\s+quick\s/.test(l))).toHaveLength(1);
    const tail = unnamed.id.slice(-8);
    expect(lines.filter((l) => l.startsWith(`${tail}  `)).map((l) => l.split(/\s+/)[1])).toEqual(['quick', 'terse']);
    expect(r.stdout).not.toContain(unnamed.id.slice(0, 8));
    // One run on its own lines its models up side by side.
    const one = await cli(['compare', unnamed.id]);
    expect([one.code, one.stdout.split('\n').filter((l) => l.startsWith(tail)).length]).toEqual([0, 2]);
  });
});

describe('audit', () => {
  it('refuses a run still going without --wait (exit 1); with --wait, waits for its end and audits it', async () => {
    const run = await startRun(['gated'], { limit: 2, concurrency: 2 });
    const refused = await cli(['audit', run.id]);
    expect(refused.code).toBe(1);
    expectOneLine(refused);
    expect(refused.stderr.trim()).toMatch(
      new RegExp(`^batchlight: run ${run.id} is still running .*wait for its end with --wait`),
    );
    expect(refused.stdout).toBe('');
    const refusedJson = await cli(['audit', run.id, '--json']);
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.stderr)).toMatchObject({
      exitCode: 1,
      error: expect.stringMatching(/still running/),
    });

    const waiting = cliWatched(['audit', run.id, '--wait']);
    await waiting.stderrHas(/still running; waiting for its end/);
    releaseGate();
    const r = await waiting.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK: 2 traces \(2 answered\) and 2 messages checked/);
    const json = JSON.parse((await cli(['audit', run.id, '--json'])).stdout);
    expect(json).toMatchObject({ verdict: 'ok', runStatus: 'completed', tracesAnswered: 2, ok: true });
  });

  it('says when no call answered, and exits 1 under --strict', async () => {
    const failed = await cli([
      'run',
      '--model',
      'broken',
      '--prompts',
      'Demo: explain it',
      '--limit',
      '2',
      '--max-retries',
      '0',
      '--follow',
    ]);
    expect(failed.code).toBe(1);
    const runId = /run (\S+) all failed: 0 completed, 2 failed/.exec(failed.stdout)![1]!;
    const [shown, listed] = await Promise.all([cli(['show', runId]), cli(['runs', '--json'])]);
    expect(shown.stdout).toMatch(new RegExp(`^run ${runId} — all failed\n`));
    expect(JSON.parse(listed.stdout).find((x: { id: string }) => x.id === runId)).toMatchObject({
      status: 'completed',
      outcome: 'all_failed',
    });
    const [plain, strict, json] = await Promise.all([
      cli(['audit', runId]),
      cli(['audit', runId, '--strict']),
      cli(['audit', runId, '--json']),
    ]);
    for (const r of [plain, strict])
      expect(r.stdout).toMatch(
        /^NOTHING TO CHECK: no call answered \(2 traces, 0 answered\); attribution cannot be checked/,
      );
    expect([plain.code, strict.code]).toEqual([0, 1]);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: 'nothing_to_check', tracesAnswered: 0, tracesChecked: 2 });
  });
});

describe('the README', () => {
  it('runs its typed-client example as written: the audit comes after the run has ended', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /## From a script, with full types\s+```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const out = fileURLToPath(new URL('../test-output/', import.meta.url));
    mkdirSync(out, { recursive: true });
    const file = join(out, 'readme-example.ts');
    writeFileSync(file, `${code.replaceAll('http://127.0.0.1:4700', url)}\nexport { audit, run };\n`);
    const token = process.env.BATCHLIGHT_TOKEN;
    process.env.BATCHLIGHT_TOKEN = TOKEN;
    try {
      const { audit, run } = await import(file);
      expect(audit).toMatchObject({ verdict: 'ok', ok: true, runStatus: 'completed' });
      expect(audit.tracesAnswered).toBe(run.totalItems);
      expect(run.totalItems).toBe(10);
    } finally {
      if (token === undefined) delete process.env.BATCHLIGHT_TOKEN;
      else process.env.BATCHLIGHT_TOKEN = token;
    }
  });
});
