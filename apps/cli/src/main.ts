#!/usr/bin/env node
// `batchlight`: the command line of batchlight, a typed client of the server's API.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type Client } from './client.js';
import { CliError, describeError, EXIT } from './errors.js';
import { follow, summary, summaryTable } from './follow.js';
import { duration, ms, table, usd } from './format.js';
import { importPrompts, resolveModels, resolvePromptSet } from './resolve.js';

const HELP = `batchlight — batch-test LLM models

usage: batchlight <command> [options]

  run --model <name|id>… --prompts <set id|file.jsonl|file.csv> [--concurrency N] [--delay MS]
      [--limit N] [--repeats N] [--max-retries N] [--timeout MS] [--name TEXT] [--follow]
                              start a run; with --follow, show live progress and a per-model table
  follow <runId>              live progress of a run, then its per-model table
  runs                        recent runs
  show <runId>                one run: status, counters, models
  cancel <runId> | resume <runId> [--retry-failed]
  export <runId> --format csv|jsonl [-o FILE]   stream every item (stdout without -o)
  audit <runId>               check every trace and message of a run against its models
  compare <runId> <runId>…    per-model aggregates of runs on the same prompt set
  models list | models add --name N --provider openai|huggingface|simulated --provider-model M
      [--base-url URL] [--credential-env VAR] [--api-key KEY] | models test <name|id>
  prompts list | prompts import <file.jsonl|file.csv> [--name N]
  studio [--database URL]     Prisma Studio on the server's database (DATABASE_URL)

global: --server URL (env BATCHLIGHT_SERVER, default http://127.0.0.1:4700)
        --token T (env BATCHLIGHT_TOKEN)   --json  machine-readable output
exit codes: 0 ok · 1 a run had failed items, mismatches or was cancelled · 2 bad input ·
            3 server unreachable or token refused · 4 server error`;

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
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function int(values: Values, key: keyof Values & string, fallback?: number): number | undefined {
  const raw = values[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new CliError(`--${key}: expected a whole number, got "${String(raw)}"`);
  return n;
}

function need(pos: string[], i: number, what: string): string {
  const v = pos[i];
  if (!v) throw new CliError(`missing ${what} (see batchlight --help)`);
  return v;
}

const print = (json: boolean, data: unknown, text: () => string) => console.log(json ? JSON.stringify(data, null, 2) : text());

async function runCommand(client: Client, cmd: string, pos: string[], v: Values): Promise<number> {
  const json = v.json ?? false;
  switch (cmd) {
    case 'run': {
      const modelIds = await resolveModels(client, v.model ?? []);
      const promptSetId = await resolvePromptSet(client, v.prompts);
      const run = await client.runs.create.mutate({
        promptSetId,
        modelIds,
        concurrency: int(v, 'concurrency', 4)!,
        delayMs: int(v, 'delay', 0)!,
        promptLimit: int(v, 'limit') ?? null,
        repeats: int(v, 'repeats', 1)!,
        maxRetries: int(v, 'max-retries', 3)!,
        timeoutMs: int(v, 'timeout', 60_000)!,
        name: v.name ?? null,
      });
      if (!v.follow) {
        print(json, run, () => `started run ${run.id} (${run.totalItems} items); follow it with: batchlight follow ${run.id}`);
        return EXIT.ok;
      }
      if (!json) console.error(`run ${run.id}: ${run.totalItems} items`);
      return followAndReport(client, run.id, json);
    }
    case 'follow':
      return followAndReport(client, need(pos, 0, '<runId>'), json);
    case 'runs': {
      const { runs } = await client.runs.list.query({ limit: 50 });
      print(json, runs, () =>
        runs.length
          ? table(
              ['id', 'status', 'models', 'done/total', 'failed', 'cost', 'created'],
              runs.map((r) => [r.id, r.status, r.models.map((m) => m.name).join(', '), `${r.completedItems + r.failedItems}/${r.totalItems}`, r.failedItems, usd(r.costUsd), r.createdAt.toISOString().slice(0, 19).replace('T', ' ')]),
              ['l', 'l', 'l', 'r', 'r', 'r', 'l'],
            )
          : 'no runs yet',
      );
      return EXIT.ok;
    }
    case 'show': {
      const r = await client.runs.get.query({ id: need(pos, 0, '<runId>') });
      print(json, r, () =>
        [
          `run ${r.id}${r.name ? ` "${r.name}"` : ''} — ${r.status}`,
          `prompt set ${r.promptSet.name} · concurrency ${r.concurrency} · delay ${r.delayMs}ms · repeats ${r.repeats}${r.promptLimit ? ` · limit ${r.promptLimit}` : ''}`,
          `items ${r.totalItems}: ${r.completedItems} completed, ${r.failedItems} failed, ${r.cancelledItems} cancelled, ${r.retries} retries · cost ${usd(r.costUsd)}`,
          r.startedAt ? `started ${r.startedAt.toISOString()}${r.finishedAt ? ` · took ${duration(r.finishedAt.getTime() - r.startedAt.getTime())}` : ''}` : 'not started',
          table(['model', 'provider', 'sends', 'revision'], r.models.map((m) => [m.name, m.provider, m.providerModel, m.modelRevision])),
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
      const r = await client.runs.resume.mutate({ id: need(pos, 0, '<runId>'), retryFailed: v['retry-failed'] ?? false });
      print(json, r, () => `run ${r.id}: ${r.status}; follow it with: batchlight follow ${r.id}`);
      return EXIT.ok;
    }
    case 'export': {
      const runId = need(pos, 0, '<runId>');
      const format = v.format;
      if (format !== 'csv' && format !== 'jsonl') throw new CliError('--format: csv or jsonl');
      const out: NodeJS.WritableStream = v.output ? createWriteStream(v.output) : process.stdout;
      const stream = await client.runs.export.query({ runId, format });
      for await (const chunk of stream) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      if (v.output) {
        await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
        if (!json) console.error(`wrote ${v.output}`);
      }
      return EXIT.ok;
    }
    case 'audit': {
      const a = await client.runs.audit.query({ runId: need(pos, 0, '<runId>') });
      print(json, a, () =>
        [
          `${a.ok ? 'OK' : 'PROBLEMS'}: ${a.tracesChecked} traces and ${a.messagesChecked} messages checked · match ${a.counts.match}, alias ${a.counts.alias}, mismatch ${a.counts.mismatch}, unknown ${a.counts.unknown}`,
          ...(a.findings.length
            ? [table(['kind', 'model', 'expected', 'actual', 'trace'], a.findings.map((f) => [f.kind, f.modelName, f.expected, f.actual, f.traceId]))]
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
            return [col.runId.slice(0, 8), col.modelName, a.items, a.successRate == null ? null : `${(a.successRate * 100).toFixed(1)}%`, ms(a.latencyP50), ms(a.latencyP95), ms(a.ttftP50), `${a.inputTokens}/${a.outputTokens}`, usd(a.costUsd), a.mismatches];
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
        print(json, models, () => table(['id', 'name', 'provider', 'sends', 'key', 'rev'], models.map((m) => [m.id, m.name, m.provider, m.providerModel, m.credentialHint, m.revision])));
        return EXIT.ok;
      }
      if (sub === 'add') {
        const provider = v.provider;
        if (provider !== 'openai' && provider !== 'huggingface' && provider !== 'simulated') throw new CliError('--provider: openai, huggingface or simulated');
        if (!v.name) throw new CliError('--name: required');
        if (!v['provider-model']) throw new CliError('--provider-model: required (the model id sent to the provider, e.g. gpt-5-mini)');
        const m = await client.models.create.mutate({
          name: v.name, provider, providerModel: v['provider-model'], baseUrl: v['base-url'] ?? null,
          credentialEnv: v['credential-env'] ?? null, apiKey: v['api-key'] ?? null,
        });
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
        print(json, sets, () => table(['id', 'name', 'prompts'], sets.map((s) => [s.id, s.name, s.promptCount]), ['l', 'l', 'r']));
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
  const result = await follow(client, runId, { quiet: json });
  const rows = await summary(client, runId);
  if (json) console.log(JSON.stringify({ runId, ...result, models: rows }, null, 2));
  else {
    console.log(summaryTable(rows));
    console.log(
      `run ${runId} ${result.status}: ${result.completed} completed, ${result.failed} failed` +
        `${result.cancelled ? `, ${result.cancelled} cancelled` : ''}${result.mismatches ? ` · ${result.mismatches} attribution mismatch(es): see batchlight audit ${runId}` : ''}`,
    );
  }
  return result.failed || result.mismatches || result.status !== 'completed' ? EXIT.runFailed : EXIT.ok;
}

/** Prisma Studio on the configured database, through the db package's script. */
function studio(database: string | undefined): Promise<number> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  if (!existsSync(`${root}packages/db/package.json`)) throw new CliError('studio needs the batchlight repository (packages/db) next to the CLI');
  const env = { ...process.env, ...(database ? { DATABASE_URL: database } : {}) };
  const child = spawn('pnpm', ['--filter', '@batchlight/db', 'studio'], { cwd: root, stdio: 'inherit', env });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]} (see batchlight --help)`);
  }
  const { values, positionals } = parsed;
  const [cmd, ...pos] = positionals;
  if (values.help || !cmd) {
    console.log(HELP);
    return cmd || values.help ? EXIT.ok : EXIT.usage;
  }
  if (cmd === 'studio') return studio(values.database);
  const server = values.server ?? process.env.BATCHLIGHT_SERVER ?? 'http://127.0.0.1:4700';
  if (!/^https?:\/\//.test(server)) throw new CliError(`--server: expected an http(s) URL, got "${server}"`);
  const token = values.token ?? process.env.BATCHLIGHT_TOKEN;
  const { client, close } = connect(server, token);
  try {
    return await runCommand(client, cmd, pos, values);
  } catch (err) {
    const { message, code } = describeError(err, server);
    console.error(`batchlight: ${message}`);
    return code;
  } finally {
    close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const { message, code } = describeError(err, 'the server');
    console.error(`batchlight: ${message}`);
    process.exitCode = code;
  },
);
