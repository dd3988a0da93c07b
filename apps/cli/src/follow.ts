// `--follow`: a live progress line from the run's event subscription, then a per-model summary.
import type { EventPayloads, RunEventMessage, RunStatus } from '@batchlight/api';
import { OUTCOME_LABELS, runOutcome } from '@batchlight/api/outcome';
import type { Context } from './args.js';
import type { Client } from './client.js';
import { CliError, EXIT } from './errors.js';
import { bar, duration, ms, pct, table, usd } from './format.js';

export interface FollowResult {
  status: string;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
  mismatches: number;
  /** Wall time, first start to finish. */
  durationMs: number;
  /** Time spent executing, over every stretch. */
  activeMs: number;
  costUsd: number;
}

type Progress = EventPayloads['run.progress'] & {
  /** When (local clock) the last progress event, and so its activeMs, arrived. */
  elapsedAt: number;
  finished: boolean;
  waiting: number;
  lastWait: string | null;
  connection: string | null;
  /** The last `rate.limit` event: its key's label, when the wait it announced ends, when it was sent. */
  rateLimit: { key: string; until: number; seenAt: number } | null;
};

/** How long a `rate.limit` event that names no end is shown (they come once a second while calls wait). */
const RATE_LIMIT_SHOWN_MS = 1500;

/** " · waiting for rate limit (key …) 3.2 s" while calls of the run wait for their provider key. */
export function rateLimitText(r: Progress['rateLimit'], now: number): string {
  if (!r || now >= Math.max(r.until, r.seenAt + RATE_LIMIT_SHOWN_MS)) return '';
  const left = r.until - now;
  return ` · waiting for rate limit (key ${r.key})${left > 0 ? ` ${(left / 1000).toFixed(1)} s` : ''}`;
}

export function progressLine(p: Progress, now: number): string {
  const done = p.completed + p.failed + p.cancelled;
  // Active time over every stretch: a resumed run goes on from where its earlier stretches ended.
  const elapsed = p.activeMs + (p.finished ? 0 : now - p.elapsedAt);
  const eta = p.throughput > 0 && done < p.total ? ` · ETA ${duration(((p.total - done) / p.throughput) * 1000)}` : '';
  const waits = p.waiting ? ` · ${p.waiting} waiting to retry${p.lastWait ? ` (${p.lastWait})` : ''}` : '';
  return (
    `${bar(p.total ? done / p.total : 0)} ${done}/${p.total}  ✓${p.completed} ✗${p.failed}` +
    `${p.cancelled ? ` ⊘${p.cancelled}` : ''} · ${p.inFlight} in flight · ${p.throughput.toFixed(1)}/s · ${duration(elapsed)}${eta}` +
    `${p.retries ? ` · ${p.retries} retries` : ''}${waits}${p.finished ? '' : rateLimitText(p.rateLimit, now)}` +
    `${p.connection ? ` · ${p.connection}` : ''}`
  );
}

/** How long a follower keeps trying to get its WebSocket back before it gives up. */
const RECONNECT_GIVE_UP_MS = Number(process.env.BATCHLIGHT_RECONNECT_TIMEOUT_MS ?? 60_000);

/**
 * Follows a run to its end through `runs.events` (the WebSocket link resubscribes from the last
 * seq it saw after a dropped connection). Progress goes to stderr so stdout stays clean: one
 * redrawn line on a terminal, a plain line every 2 s otherwise, nothing when `quiet`.
 */
export async function follow(
  client: Client,
  runId: string,
  opts: { quiet: boolean; server: string; signal?: AbortSignal },
): Promise<FollowResult> {
  // The present from the server's snapshot, then the events after its seq: a follower that joins
  // a long run mid-way is not fed the whole log first.
  const [run, snap] = await Promise.all([client.runs.get.query({ id: runId }), client.runs.snapshot.query({ runId })]);
  const now = Date.now();
  const p: Progress = {
    completed: run.completedItems,
    failed: run.failedItems,
    cancelled: run.cancelledItems,
    inFlight: 0,
    total: run.totalItems,
    throughput: 0,
    retries: run.retries,
    elapsedMs: 0,
    activeMs: run.activeMs ?? 0,
    elapsedAt: now,
    finished: false,
    waiting: 0,
    lastWait: null,
    connection: null,
    rateLimit: null,
  };
  const tty = Boolean(process.stderr.isTTY) && !opts.quiet;
  const columns = () => Math.max(40, (process.stderr.columns ?? 120) - 1);
  const draw = () => {
    if (opts.quiet) return;
    const text = progressLine(p, Date.now());
    if (tty) process.stderr.write(`\r\x1b[2K${[...text].slice(0, columns()).join('')}`);
    else process.stderr.write(`${text}\n`);
  };
  const timer = opts.quiet ? null : setInterval(draw, tty ? 100 : 2000);
  const waitingItems = new Set<string>();
  let lostSince: number | null = null;
  let lastSeq = snap.seq;
  if (snap.progress && !snap.finished) {
    const { completed, failed, cancelled, inFlight, total, retries, throughput, elapsedMs } = snap.progress;
    Object.assign(p, { completed, failed, cancelled, inFlight, total, retries, throughput, elapsedMs });
    p.activeMs = snap.progress.activeMs ?? elapsedMs;
  }
  try {
    const finished = await new Promise<RunEventMessage & { type: 'run.finished' }>((resolve, reject) => {
      let wasConnected = false;
      let lastFinished: (RunEventMessage & { type: 'run.finished' }) | null = null;
      const sub = client.runs.events.subscribe(
        { runId, lastEventId: String(snap.seq) },
        {
          onData: ({ data: e }) => {
            lastSeq = e.seq;
            if (e.type === 'run.progress') {
              const { completed, failed, cancelled, inFlight, total, retries, throughput, elapsedMs } = e.payload;
              // Logs written before activeMs existed carry only the stretch's elapsedMs.
              const activeMs = e.payload.activeMs ?? elapsedMs;
              Object.assign(p, {
                completed,
                failed,
                cancelled,
                inFlight,
                total,
                retries,
                throughput,
                elapsedMs,
                activeMs,
                elapsedAt: Date.now(),
              });
            } else if (e.type === 'item.retrying') {
              waitingItems.add(e.payload.itemId);
              p.lastWait = `${e.payload.errorType}${e.payload.httpStatus ? ` ${e.payload.httpStatus}` : ''}, waiting ${ms(e.payload.waitMs)}`;
            } else if (e.type === 'rate.limit') {
              // Timed by the server's clock: an old event replayed from the log shows nothing.
              const seenAt = Date.parse(e.at);
              const paused = e.payload.pausedUntil ? Date.parse(e.payload.pausedUntil) : 0;
              p.rateLimit = { key: e.payload.key, until: Math.max(paused, seenAt + e.payload.waitMs), seenAt };
            } else if (e.type === 'item.started' || e.type === 'item.completed' || e.type === 'item.failed') {
              waitingItems.delete(e.payload.itemId);
            } else if (e.type === 'run.finished') {
              // A resumed run's log holds an earlier run.finished; the server ends the
              // subscription after the last one, so the verdict waits for that end.
              const { completed, failed, cancelled, total, durationMs } = e.payload;
              const activeMs = e.payload.activeMs ?? durationMs;
              Object.assign(p, {
                completed,
                failed,
                cancelled,
                total,
                inFlight: 0,
                activeMs,
                finished: true,
              });
              waitingItems.clear();
              lastFinished = e;
            }
            if (e.type !== 'run.finished' && lastFinished) {
              lastFinished = null;
              p.finished = false;
            }
            p.waiting = waitingItems.size;
          },
          onConnectionStateChange: (s) => {
            if (s.state === 'pending') {
              wasConnected = true;
              lostSince = null;
              p.connection = null;
            } else if (s.state === 'connecting' && wasConnected) {
              lostSince ??= Date.now();
              p.connection = `connection lost, reconnecting from event ${lastSeq}`;
              if (Date.now() - lostSince > RECONNECT_GIVE_UP_MS) {
                sub.unsubscribe();
                reject(
                  new CliError(
                    `lost the connection to the server at ${opts.server} for ${Math.round(RECONNECT_GIVE_UP_MS / 1000)} s; follow the run again with: batchlight follow ${runId}`,
                    EXIT.unreachable,
                  ),
                );
              }
            }
          },
          onError: (err) => reject(err),
          onComplete: () => {
            // The server ends the subscription after the run's last run.finished; ending without
            // it means the run is no longer executing here (e.g. interrupted): report its row.
            if (lastFinished) resolve(lastFinished);
            else
              client.runs.get.query({ id: runId }).then((r) => {
                Object.assign(p, {
                  completed: r.completedItems,
                  failed: r.failedItems,
                  cancelled: r.cancelledItems,
                  total: r.totalItems,
                  inFlight: 0,
                  finished: true,
                });
                resolve({
                  runId,
                  seq: lastSeq,
                  type: 'run.finished',
                  at: new Date().toISOString(),
                  payload: {
                    status: r.status as RunStatus,
                    completed: r.completedItems,
                    failed: r.failedItems,
                    cancelled: r.cancelledItems,
                    total: r.totalItems,
                    durationMs: r.wallMs ?? 0,
                    activeMs: r.activeMs ?? 0,
                    costUsd: r.costUsd,
                  },
                });
              }, reject);
          },
        },
      );
      opts.signal?.addEventListener('abort', () => {
        sub.unsubscribe();
        reject(
          new CliError(
            `stopped following run ${runId}; it goes on (batchlight follow ${runId}, or batchlight cancel ${runId})`,
            130,
          ),
        );
      });
    });
    const audit = await client.runs.audit.query({ runId });
    return {
      status: finished.payload.status,
      completed: finished.payload.completed,
      failed: finished.payload.failed,
      cancelled: finished.payload.cancelled,
      total: finished.payload.total,
      mismatches: audit.counts.mismatch,
      durationMs: finished.payload.durationMs,
      activeMs: finished.payload.activeMs ?? finished.payload.durationMs,
      costUsd: finished.payload.costUsd,
    };
  } finally {
    if (timer) clearInterval(timer);
    draw();
    if (tty) process.stderr.write('\n');
  }
}

/** Per-model numbers of one run, from runs.compare's aggregates (it accepts a single run). */
export async function summary(client: Client, runId: string) {
  const c = await client.runs.compare.query({ runIds: [runId], limit: 1 });
  return c.columns.map((col) => ({
    modelId: col.modelId,
    model: col.modelName,
    providerModel: col.providerModel,
    ...c.aggregates[col.key]!,
  }));
}

export function summaryTable(rows: Awaited<ReturnType<typeof summary>>): string {
  return table(
    [
      'model',
      'items',
      'ok',
      'failed',
      'success',
      'p50',
      'p95',
      'ttft p50',
      'tokens in/out',
      'cost',
      'length',
      'mismatch',
    ],
    rows.map((r) => [
      r.model,
      r.items,
      r.completed,
      r.failed,
      pct(r.successRate),
      ms(r.latencyP50),
      ms(r.latencyP95),
      ms(r.ttftP50),
      `${r.inputTokens}/${r.outputTokens}`,
      usd(r.costUsd),
      r.lengthFinishes,
      r.mismatches,
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/**
 * Follows a run to its end (live progress on stderr), prints its per-model table and verdict, and
 * returns the exit code: 1 if anything failed, mismatched, or the run did not complete.
 */
export async function followAndReport(ctx: Context, runId: string): Promise<number> {
  // Ctrl-C stops following (the run goes on on the server); a second Ctrl-C quits at once.
  const stop = new AbortController();
  const onSigint = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on('SIGINT', onSigint);
  let result: FollowResult;
  try {
    result = await follow(ctx.client, runId, { quiet: ctx.json, server: ctx.server, signal: stop.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const rows = await summary(ctx.client, runId);
  if (ctx.json) console.log(JSON.stringify({ runId, ...result, models: rows }, null, 2));
  else {
    console.log(summaryTable(rows));
    const outcome =
      OUTCOME_LABELS[runOutcome({ ...result, completedItems: result.completed, failedItems: result.failed })];
    const wall = result.durationMs !== result.activeMs ? ` (wall ${duration(result.durationMs)})` : '';
    console.log(
      `run ${runId} ${outcome}: ${result.completed} completed, ${result.failed} failed` +
        `${result.cancelled ? `, ${result.cancelled} cancelled` : ''} in ${duration(result.activeMs)}${wall}, cost ${usd(result.costUsd)}` +
        `${result.mismatches ? ` · ${result.mismatches} attribution mismatch(es): see batchlight audit ${runId}` : ''}`,
    );
  }
  return result.failed || result.mismatches || result.status !== 'completed' ? EXIT.runFailed : EXIT.ok;
}
