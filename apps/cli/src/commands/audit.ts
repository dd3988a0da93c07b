// `batchlight audit`: checks every trace and message of a run against the models it targets.

import { type Context, defineCommand } from '../args.js';
import type { Client } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { follow } from '../follow.js';
import { print, table } from '../format.js';

type Audit = Awaited<ReturnType<Client['runs']['audit']['query']>>;

export const audit = defineCommand({
  name: 'audit',
  usage: '<runId> [--wait] [--strict]',
  description:
    'check every trace and message of a run against its models (exit 1 on any finding);\n' +
    'a run still going is refused, or with --wait audited once it has ended; a run where no call\n' +
    'answered has nothing to check: said, and exit 1 with --strict',
  options: ['wait', 'strict'],
  args: ['<runId>'],
  async run(ctx, v, [runId]) {
    let a = await ctx.client.runs.audit.query({ runId: runId! });
    if (a.verdict === 'still_running' && v.wait) {
      if (!ctx.json)
        console.error(`batchlight: run ${a.runId} is still running; waiting for its end (Ctrl-C stops waiting)`);
      await waitForEnd(ctx, a.runId);
      a = await ctx.client.runs.audit.query({ runId: a.runId });
    }
    if (a.verdict === 'still_running')
      throw new CliError(
        `run ${a.runId} is still running (${a.runStatus}): an audit now checks only what is recorded so far; ` +
          'audit it when it has ended, or wait for its end with --wait',
        EXIT.runFailed,
      );
    print(ctx.json, a, () => report(a));
    if (a.verdict === 'findings') return EXIT.runFailed;
    if (a.verdict === 'nothing_to_check' && v.strict) return EXIT.runFailed;
    return EXIT.ok;
  },
});

/** The run's end, through its event stream (progress on stderr unless --json). */
async function waitForEnd(ctx: Context, runId: string): Promise<void> {
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    await follow(ctx.client, runId, { quiet: ctx.json, server: ctx.server, signal: stop.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function report(a: Audit): string {
  const checked = `${a.tracesChecked} traces (${a.tracesAnswered} answered) and ${a.messagesChecked} messages checked`;
  const counts = `match ${a.counts.match}, alias ${a.counts.alias}, mismatch ${a.counts.mismatch}, unknown ${a.counts.unknown}`;
  const head =
    a.verdict === 'nothing_to_check'
      ? `NOTHING TO CHECK: no call answered (${a.tracesChecked} traces, 0 answered); attribution cannot be checked`
      : `${a.verdict === 'ok' ? 'OK' : 'PROBLEMS'}: ${checked} · ${counts}`;
  return [
    head,
    ...(a.findings.length
      ? [
          table(
            ['kind', 'model', 'expected', 'actual', 'trace'],
            a.findings.map((f) => [f.kind, f.modelName, f.expected, f.actual, f.traceId]),
          ),
        ]
      : []),
    ...(a.findingsTotal > a.findings.length ? [`… and ${a.findingsTotal - a.findings.length} more`] : []),
  ].join('\n');
}
