#!/usr/bin/env node
// `batchlight`: the command line of batchlight, a typed client of the server's API.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Client, connect, createOnce } from './client.js';
import { CliError, describeError, EXIT } from './errors.js';
import { follow, summary, summaryTable } from './follow.js';
import { duration, ms, table, usd } from './format.js';
import { importPrompts, resolveModels, resolvePromptSet } from './resolve.js';
import { REPO_ROOT, studioDatabaseUrl } from './studio.js';

const HELP = `batchlight — batch-test LLM models (a typed client of the batchlight server)

usage: batchlight <command> [options]

  run --model <name|id>… --prompts <set name|set id|file.jsonl|file.csv>
      [--concurrency N=4] [--delay MS=0] [--limit N] [--repeats N=1] [--max-retries N=3]
      [--timeout MS=60000] [--name TEXT] [--follow]
                              start a run (a file is imported as a prompt set first); with
                              --follow, live progress, then a per-model table
  follow <runId>              live progress of a run (or the replay of a finished one), then its table
  runs [--status S] [--limit N=50]   recent runs
  show <runId>                one run: settings, counters, models and per-model numbers
  cancel <runId>              cancel a run (in-flight calls are aborted)
  resume <runId> [--retry-failed]    resume an interrupted or cancelled run
  export <runId> --format csv|jsonl [-o FILE]
                              stream every item (to stdout without -o), in constant memory
  audit <runId>               check every trace and message of a run against its models
  compare <runId> <runId>…    per-model aggregates of runs on the same prompt set
  models list
  models add --name N --provider openai|huggingface|simulated --provider-model M [--base-url URL]
      [--credential-env VAR | --api-key KEY] [--params JSON] [--price-in USD] [--price-out USD]
      [--price-cached USD]     (prices per million tokens)
  models test <name|id>       send one short prompt through the model
  prompts list | prompts import <file.jsonl|file.csv> [--name N]
  studio [--database URL] [--port N=5555]
                              Prisma Studio on the database (--database, else DATABASE_URL, else
                              the server's default data/batchlight.db in the repository)

global: --server URL   (env BATCHLIGHT_SERVER, default http://127.0.0.1:4700)
        --token T      (env BATCHLIGHT_TOKEN)
        --json         machine-readable output on stdout (errors: one JSON line on stderr)
exit codes: 0 ok · 1 a run had failed items or attribution mismatches, or did not complete
            (also audit with findings, models test that failed) · 2 bad input ·
            3 server unreachable or token refused · 4 server error · 130 interrupted`;

const options = {
  server: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  model: { type: 'string', multiple: true },
  prompts: { type: 'string' },
  concurrency: { type: 'string' },
  delay: { type: 'string' },
  limit: { type: 'string' },
  repeats: { type: 'string' },
  'max-retries': { type: 'string' },
  timeout: { type: 'string' },
  name: { type: 'string' },
  follow: { type: 'boolean', default: false },
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'retry-failed': { type: 'boolean', default: false },
  provider: { type: 'string' },
  'provider-model': { type: 'string' },
  'base-url': { type: 'string' },
  'credential-env': { type: 'string' },
  'api-key': { type: 'string' },
  database: { type: 'string' },
  port: { type: 'string' },
  params: { type: 'string' },
  'price-in': { type: 'string' },
  'price-out': { type: 'string' },
  'price-cached': { type: 'string' },
  status: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

/**
 * A whole-number option, checked here (with the API's bounds) before anything is sent, so a bad
 * value never leaves a half-done command behind (e.g. a prompt file imported for a run that fails).
 * The server checks again; its message names the field too.
 */
function int(
  values: Values,
  key: keyof Values & string,
  range: [number, number],
  fallback?: number,
): number | undefined {
  const raw = values[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new CliError(`--${key}: expected a whole number, got "${String(raw)}"`);
  const [min, max] = range;
  if (n < min || n > max)
    throw new CliError(
      `--${key}: must be ${max === Infinity ? `at least ${min}` : `between ${min} and ${max}`}, got ${n}`,
    );
  return n;
}

function num(values: Values, key: keyof Values & string): number | undefined {
  const raw = values[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new CliError(`--${key}: expected a number ≥ 0, got "${String(raw)}"`);
  return n;
}

function jsonObject(values: Values, key: keyof Values & string): Record<string, unknown> | undefined {
  const raw = values[key];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    throw new CliError(`--${key}: expected a JSON object, e.g. '{"temperature":0.2}'`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`--${key}: expected a JSON object, e.g. '{"temperature":0.2}'`);
  return parsed as Record<string, unknown>;
}

function need(pos: string[], i: number, what: string): string {
  const v = pos[i];
  if (!v) throw new CliError(`missing ${what} (see batchlight --help)`);
  return v;
}

const print = (json: boolean, data: unknown, text: () => string) =>
  console.log(json ? JSON.stringify(data, null, 2) : text());

async function runCommand(client: Client, cmd: string, pos: string[], v: Values): Promise<number> {
  const json = v.json ?? false;
  switch (cmd) {
    case 'run': {
      const settings = {
        concurrency: int(v, 'concurrency', [1, 256], 4)!,
        delayMs: int(v, 'delay', [0, 600_000], 0)!,
        promptLimit: int(v, 'limit', [1, Infinity]) ?? null,
        repeats: int(v, 'repeats', [1, 100], 1)!,
        maxRetries: int(v, 'max-retries', [0, 10], 3)!,
        timeoutMs: int(v, 'timeout', [100, 600_000], 60_000)!,
        name: v.name ?? null,
      };
      if (!v.prompts) throw new CliError('--prompts: give a prompt set (name or id) or a .jsonl/.csv file');
      const modelIds = await resolveModels(client, v.model ?? []);
      const promptSetId = await resolvePromptSet(client, v.prompts);
      const run = await createOnce((requestId) =>
        client.runs.create.mutate({ promptSetId, modelIds, ...settings, requestId }),
      );
      if (!v.follow) {
        print(
          json,
          run,
          () => `started run ${run.id} (${run.totalItems} items); follow it with: batchlight follow ${run.id}`,
        );
        return EXIT.ok;
      }
      if (!json) console.error(`run ${run.id}: ${run.totalItems} items`);
      return followAndReport(client, run.id, json);
    }
    case 'follow':
      return followAndReport(client, need(pos, 0, '<runId>'), json);
    case 'runs': {
      const status = v.status;
      const statuses = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
      if (status !== undefined && !statuses.includes(status as (typeof statuses)[number]))
        throw new CliError(`--status: one of ${statuses.join(', ')}`);
      const { runs } = await client.runs.list.query({
        limit: int(v, 'limit', [1, 200], 50)!,
        ...(status ? { status: status as (typeof statuses)[number] } : {}),
      });
      print(json, runs, () =>
        runs.length
          ? table(
              ['id', 'status', 'models', 'done/total', 'failed', 'cost', 'created'],
              runs.map((r) => [
                r.id,
                r.status,
                r.models.map((m) => m.name).join(', '),
                `${r.completedItems + r.failedItems}/${r.totalItems}`,
                r.failedItems,
                usd(r.costUsd),
                r.createdAt.toISOString().slice(0, 19).replace('T', ' '),
              ]),
              ['l', 'l', 'l', 'r', 'r', 'r', 'l'],
            )
          : 'no runs yet',
      );
      return EXIT.ok;
    }
    case 'show': {
      const r = await client.runs.get.query({ id: need(pos, 0, '<runId>') });
      const perModel = await summary(client, r.id);
      // Answers cut off by max tokens (finish_reason `length`) are successes, and a finding.
      const cutOff = perModel.reduce((n, m) => n + m.lengthFinishes, 0);
      print(json, { ...r, summary: perModel }, () =>
        [
          `run ${r.id}${r.name ? ` "${r.name}"` : ''} — ${r.status}`,
          `prompt set ${r.promptSet.name} · concurrency ${r.concurrency} · delay ${r.delayMs}ms · repeats ${r.repeats}${r.promptLimit ? ` · limit ${r.promptLimit}` : ''}`,
          `items ${r.totalItems}: ${r.completedItems} completed, ${r.failedItems} failed, ${r.cancelledItems} cancelled, ${r.retries} retries · cost ${usd(r.costUsd)}`,
          ...(cutOff ? [`${cutOff} answer(s) cut off by max tokens (finish_reason length): the "length" column`] : []),
          r.startedAt
            ? `started ${r.startedAt.toISOString()}${r.finishedAt ? ` · took ${duration(r.finishedAt.getTime() - r.startedAt.getTime())}` : ''}`
            : 'not started',
          table(
            ['model', 'provider', 'sends', 'revision'],
            r.models.map((m) => [m.name, m.provider, m.providerModel, m.modelRevision]),
          ),
          '',
          summaryTable(perModel),
        ].join('\n'),
      );
      return EXIT.ok;
    }
    case 'cancel': {
      const r = await client.runs.cancel.mutate({ id: need(pos, 0, '<runId>') });
      print(json, r, () => `run ${r.id}: ${r.status} (${r.cancelledItems} items cancelled)`);
      return EXIT.ok;
    }
    case 'resume': {
      const r = await client.runs.resume.mutate({
        id: need(pos, 0, '<runId>'),
        retryFailed: v['retry-failed'] ?? false,
      });
      print(json, r, () => `run ${r.id}: ${r.status}; follow it with: batchlight follow ${r.id}`);
      return EXIT.ok;
    }
    case 'export': {
      const runId = need(pos, 0, '<runId>');
      const format = v.format;
      if (format !== 'csv' && format !== 'jsonl') throw new CliError('--format: csv or jsonl');
      return exportRun(client, runId, format, v.output, json);
    }
    case 'audit': {
      const a = await client.runs.audit.query({ runId: need(pos, 0, '<runId>') });
      print(json, a, () =>
        [
          `${a.ok ? 'OK' : 'PROBLEMS'}: ${a.tracesChecked} traces and ${a.messagesChecked} messages checked · match ${a.counts.match}, alias ${a.counts.alias}, mismatch ${a.counts.mismatch}, unknown ${a.counts.unknown}`,
          ...(a.findings.length
            ? [
                table(
                  ['kind', 'model', 'expected', 'actual', 'trace'],
                  a.findings.map((f) => [f.kind, f.modelName, f.expected, f.actual, f.traceId]),
                ),
              ]
            : []),
          ...(a.findingsTotal > a.findings.length ? [`… and ${a.findingsTotal - a.findings.length} more`] : []),
        ].join('\n'),
      );
      return a.ok ? EXIT.ok : EXIT.runFailed;
    }
    case 'compare': {
      if (pos.length < 2) throw new CliError('compare: give at least two run ids');
      const c = await client.runs.compare.query({ runIds: pos, limit: 1 });
      print(json, c, () =>
        table(
          ['run', 'model', 'items', 'success', 'p50', 'p95', 'ttft p50', 'tokens in/out', 'cost', 'mismatch'],
          c.columns.map((col) => {
            const a = c.aggregates[col.key]!;
            return [
              col.runId.slice(0, 8),
              col.modelName,
              a.items,
              a.successRate == null ? null : `${(a.successRate * 100).toFixed(1)}%`,
              ms(a.latencyP50),
              ms(a.latencyP95),
              ms(a.ttftP50),
              `${a.inputTokens}/${a.outputTokens}`,
              usd(a.costUsd),
              a.mismatches,
            ];
          }),
          ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        ),
      );
      return EXIT.ok;
    }
    case 'models': {
      const sub = need(pos, 0, 'models list|add|test');
      if (sub === 'list') {
        const models = await client.models.list.query({ includeArchived: false });
        print(json, models, () =>
          table(
            ['id', 'name', 'provider', 'sends', 'key', 'rev'],
            models.map((m) => [m.id, m.name, m.provider, m.providerModel, m.credentialHint, m.revision]),
          ),
        );
        return EXIT.ok;
      }
      if (sub === 'add') {
        const provider = v.provider;
        if (provider !== 'openai' && provider !== 'huggingface' && provider !== 'simulated')
          throw new CliError('--provider: openai, huggingface or simulated');
        const { name, 'provider-model': providerModel } = v;
        if (!name) throw new CliError('--name: required');
        if (!providerModel) {
          throw new CliError('--provider-model: required (the model id sent to the provider, e.g. gpt-5-mini)');
        }
        const params = jsonObject(v, 'params') ?? {};
        const pricing = {
          inputPerMTok: num(v, 'price-in') ?? null,
          outputPerMTok: num(v, 'price-out') ?? null,
          cachedInputPerMTok: num(v, 'price-cached') ?? null,
        };
        const m = await createOnce((requestId) =>
          client.models.create.mutate({
            name,
            provider,
            providerModel,
            baseUrl: v['base-url'] ?? null,
            credentialEnv: v['credential-env'] ?? null,
            apiKey: v['api-key'] ?? null,
            params,
            pricing,
            requestId,
          }),
        );
        print(json, m, () => `added model ${m.name} (${m.id})`);
        return EXIT.ok;
      }
      if (sub === 'test') {
        const [id] = await resolveModels(client, [need(pos, 1, '<model name or id>')]);
        const r = await client.models.test.mutate({ id: id! });
        print(json, r, () =>
          r.ok
            ? `ok in ${ms(r.latencyMs)}: sent ${r.requestedModel}, ${r.responseModel ?? 'no model'} answered (${r.attribution}): ${JSON.stringify(r.output)}`
            : `failed after ${ms(r.latencyMs)}: ${r.error.type}${r.error.httpStatus ? ` (${r.error.httpStatus})` : ''}: ${r.error.message}`,
        );
        return r.ok ? EXIT.ok : EXIT.runFailed;
      }
      throw new CliError(`models ${sub}: unknown (list, add or test)`);
    }
    case 'prompts': {
      const sub = need(pos, 0, 'prompts list|import');
      if (sub === 'list') {
        const sets = await client.promptSets.list.query();
        print(json, sets, () =>
          table(
            ['id', 'name', 'prompts'],
            sets.map((s) => [s.id, s.name, s.promptCount]),
            ['l', 'l', 'r'],
          ),
        );
        return EXIT.ok;
      }
      if (sub === 'import') {
        const set = await importPrompts(client, need(pos, 1, '<file>'), v.name);
        print(json, set, () => `imported ${set.promptCount} prompts as "${set.name}" (${set.id})`);
        return EXIT.ok;
      }
      throw new CliError(`prompts ${sub}: unknown (list or import)`);
    }
    default:
      throw new CliError(`unknown command "${cmd}" (see batchlight --help)`);
  }
}

async function followAndReport(client: Client, runId: string, json: boolean): Promise<number> {
  // Ctrl-C stops following (the run goes on on the server); a second Ctrl-C quits at once.
  const stop = new AbortController();
  const onSigint = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await follow(client, runId, { quiet: json, server: context.server, signal: stop.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const rows = await summary(client, runId);
  if (json) console.log(JSON.stringify({ runId, ...result, models: rows }, null, 2));
  else {
    console.log(summaryTable(rows));
    console.log(
      `run ${runId} ${result.status}: ${result.completed} completed, ${result.failed} failed` +
        `${result.cancelled ? `, ${result.cancelled} cancelled` : ''} in ${duration(result.durationMs)}, cost ${usd(result.costUsd)}` +
        `${result.mismatches ? ` · ${result.mismatches} attribution mismatch(es): see batchlight audit ${runId}` : ''}`,
    );
  }
  return result.failed || result.mismatches || result.status !== 'completed' ? EXIT.runFailed : EXIT.ok;
}

/**
 * Streams `runs.export` (httpBatchStreamLink) chunk by chunk to stdout or a file, honouring
 * back-pressure, so a run of any size goes through in constant memory. The file is opened at the
 * first chunk and removed if the export fails, so a failed export leaves nothing behind.
 */
async function exportRun(
  client: Client,
  runId: string,
  format: 'csv' | 'jsonl',
  output: string | undefined,
  json: boolean,
): Promise<number> {
  const stream = await client.runs.export.query({ runId, format });
  let out: NodeJS.WritableStream | null = null;
  let file: WriteStream | null = null;
  let broken: Error | null = null;
  const onError = (err: Error) => (broken = err);
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      if (!out) {
        out = output ? (file = createWriteStream(output)) : process.stdout;
        out.on('error', onError);
      }
      if (broken) break;
      bytes += chunk.length;
      if (!out.write(chunk))
        await new Promise<void>((resolve) => {
          const done = () => (out!.off('drain', done), out!.off('error', done), resolve());
          out!.on('drain', done).on('error', done);
        });
    }
    if (!out && output) out = file = createWriteStream(output); // an empty export still makes its file
    if (file)
      await new Promise<void>((resolve, reject) => file!.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    if (file) {
      file.destroy();
      await rm(output!, { force: true });
    }
    throw err;
  }
  if (broken && (broken as NodeJS.ErrnoException).code === 'EPIPE') return EXIT.ok; // `| head`: the reader had enough
  if (broken) throw new CliError(`${output ?? 'stdout'}: ${(broken as Error).message}`, EXIT.server);
  if (output && !json) console.error(`wrote ${output} (${bytes} characters)`);
  if (output && json) console.log(JSON.stringify({ runId, format, file: output, characters: bytes }));
  return EXIT.ok;
}

/** Prisma Studio on the configured database, through the db package's script (it migrates first). */
function studio(v: Values): Promise<number> {
  if (!existsSync(join(REPO_ROOT, 'packages/db/package.json')))
    throw new CliError('studio needs the batchlight repository (packages/db) next to the CLI');
  const url = studioDatabaseUrl(v.database);
  const port = String(int(v, 'port', [1, 65_535], 5555));
  if (url.startsWith('file:') && !existsSync(url.slice(5)) && !v.json)
    console.error(`batchlight: note: ${url.slice(5)} does not exist yet; it will be created empty`);
  if (v.json)
    console.log(
      JSON.stringify({
        studio: `http://localhost:${port}`,
        database: url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@'),
      }),
    );
  else
    console.error(
      `batchlight: Prisma Studio on ${url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@')} at http://localhost:${port} (Ctrl-C to stop)`,
    );
  const env = { ...process.env, DATABASE_URL: url, STUDIO_PORT: port };
  // Its own process group (pnpm → db script → prisma), stopped as a whole on Ctrl-C or SIGTERM.
  const child = spawn('pnpm', ['--silent', '--filter', '@batchlight/db', 'studio'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env,
    detached: true,
  });
  const stop = (signal: NodeJS.Signals) => () => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', stop('SIGINT')).on('SIGTERM', stop('SIGTERM'));
  return new Promise((done) => {
    child.on('error', (err) => {
      console.error(
        `batchlight: cannot start Prisma Studio: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'pnpm is not on PATH' : err.message}`,
      );
      done(EXIT.server);
    });
    child.on('exit', (code, signal) => done(signal === 'SIGINT' || signal === 'SIGTERM' ? EXIT.ok : (code ?? 0)));
  });
}

/** What every command may need besides its arguments. */
const context = { server: '' };

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]} (see batchlight --help)`);
  }
  const { values, positionals } = parsed;
  const [cmd, ...pos] = positionals;
  if (values.help || !cmd || cmd === 'help') {
    console.log(HELP);
    return cmd || values.help ? EXIT.ok : EXIT.usage;
  }
  if (cmd === 'studio') return studio(values);
  const server = (values.server ?? process.env.BATCHLIGHT_SERVER ?? 'http://127.0.0.1:4700').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(server) || !URL.canParse(server))
    throw new CliError(`--server: expected an http(s) URL such as http://127.0.0.1:4700, got "${server}"`);
  context.server = server;
  const token = values.token ?? process.env.BATCHLIGHT_TOKEN;
  const { client, close } = connect(server, token || undefined);
  try {
    return await runCommand(client, cmd, pos, values);
  } catch (err) {
    const { message, code } = describeError(err, server);
    fail(message, code, values.json ?? false);
    return code;
  } finally {
    close();
  }
}

/** One line on stderr; with --json, that line is a JSON object. */
function fail(message: string, code: number, json: boolean) {
  console.error(json ? JSON.stringify({ error: message, exitCode: code }) : `batchlight: ${message}`);
}

const wantsJson = process.argv.includes('--json');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const { message, code } = describeError(err, context.server || 'the server');
    fail(message, code, wantsJson);
    process.exitCode = code;
  },
);
