// `--follow`: a live progress line from the run's event subscription, then a per-model summary.
import type { RunEventMessage } from '@batchlight/api';
import type { Client } from './client.js';
import { bar, duration, ms, pct, table, usd } from './format.js';

export interface FollowResult {
  status: string;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
  mismatches: number;
}

interface Progress {
  completed: number;
  failed: number;
  cancelled: number;
  inFlight: number;
  total: number;
  throughput: number;
  retries: number;
  waiting: number;
  lastWait: string | null;
}

function line(p: Progress, elapsedMs: number): string {
  const done = p.completed + p.failed + p.cancelled;
  const eta = p.throughput > 0 && done < p.total ? ` ETA ${duration(((p.total - done) / p.throughput) * 1000)}` : '';
  const waits = p.waiting ? ` · ${p.waiting} waiting to retry${p.lastWait ? ` (${p.lastWait})` : ''}` : '';
  return (
    `${bar(p.total ? done / p.total : 0)} ${done}/${p.total}  ✓${p.completed} ✗${p.failed}` +
    `${p.cancelled ? ` ⊘${p.cancelled}` : ''} · ${p.inFlight} in flight · ${p.throughput.toFixed(1)}/s · ${duration(elapsedMs)}${eta}` +
    `${p.retries ? ` · ${p.retries} retries` : ''}${waits}`
  );
}

/** Follows a run to its end; progress goes to stderr so stdout stays clean for --json. */
export async function follow(client: Client, runId: string, opts: { quiet: boolean }): Promise<FollowResult> {
  const run = await client.runs.get.query({ id: runId });
  const p: Progress = {
    completed: run.completedItems, failed: run.failedItems, cancelled: run.cancelledItems, inFlight: 0, total: run.totalItems,
    throughput: 0, retries: run.retries, waiting: 0, lastWait: null,
  };
  const started = Date.now();
  const tty = process.stderr.isTTY && !opts.quiet;
  let lastPrint = 0;
  const draw = (force = false) => {
    if (opts.quiet) return;
    const now = Date.now();
    if (tty) process.stderr.write(`\r\x1b[2K${line(p, now - started)}`);
    else if (force || now - lastPrint > 2000) process.stderr.write(`${line(p, now - started)}\n`);
    lastPrint = now;
  };
  const waitingItems = new Set<string>();
  const finished = await new Promise<RunEventMessage & { type: 'run.finished' }>((resolve, reject) => {
    const sub = client.runs.events.subscribe(
      { runId },
      {
        onData: ({ data: e }) => {
          if (e.type === 'run.progress') Object.assign(p, { ...e.payload, retries: e.payload.retries });
          else if (e.type === 'item.retrying') {
            waitingItems.add(e.payload.itemId);
            p.lastWait = `${e.payload.errorType}${e.payload.httpStatus ? ` ${e.payload.httpStatus}` : ''}, waiting ${ms(e.payload.waitMs)}`;
          } else if (e.type === 'item.started') waitingItems.delete(e.payload.itemId);
          else if (e.type === 'run.finished') {
            Object.assign(p, { completed: e.payload.completed, failed: e.payload.failed, cancelled: e.payload.cancelled, inFlight: 0 });
            sub.unsubscribe();
            resolve(e);
            return;
          }
          p.waiting = waitingItems.size;
          draw();
        },
        onError: (err) => reject(err),
      },
    );
  });
  draw(true);
  if (tty) process.stderr.write('\n');
  const audit = await client.runs.audit.query({ runId });
  return {
    status: finished.payload.status,
    completed: finished.payload.completed,
    failed: finished.payload.failed,
    cancelled: finished.payload.cancelled,
    total: finished.payload.total,
    mismatches: audit.counts.mismatch,
  };
}

/** Per-model numbers of a run, from runs.compare's aggregates. */
export async function summary(client: Client, runId: string) {
  const c = await client.runs.compare.query({ runIds: [runId], limit: 1 });
  return c.columns.map((col) => ({ model: col.modelName, providerModel: col.providerModel, ...c.aggregates[col.key]! }));
}

export function summaryTable(rows: Awaited<ReturnType<typeof summary>>): string {
  return table(
    ['model', 'items', 'ok', 'failed', 'success', 'p50', 'p95', 'ttft p50', 'tokens in/out', 'cost', 'mismatch'],
    rows.map((r) => [
      r.model, r.items, r.completed, r.failed, pct(r.successRate), ms(r.latencyP50), ms(r.latencyP95), ms(r.ttftP50),
      `${r.inputTokens}/${r.outputTokens}`, usd(r.costUsd), r.mismatches,
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}
