// What a run came to, and how long it took: one definition for the API, the CLI and the monitor
// (which loads this in a browser through @batchlight/api/outcome: no imports).

/**
 * A run's outcome: its status, with `completed` split by what its calls did. A run whose calls
 * all failed has status `completed` (the engine went through every item) but is no success.
 */
export const RUN_OUTCOMES = [
  'queued',
  'running',
  'interrupted',
  'completed',
  'completed_with_failures',
  'all_failed',
  'cancelled',
  'failed',
] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const OUTCOME_LABELS: Record<RunOutcome, string> = {
  queued: 'queued',
  running: 'running',
  interrupted: 'interrupted',
  completed: 'completed',
  completed_with_failures: 'completed with failures',
  all_failed: 'all failed',
  cancelled: 'cancelled',
  failed: 'failed',
};

export function runOutcome(run: { status: string; completedItems: number; failedItems: number }): RunOutcome {
  if (run.status !== 'completed')
    return (RUN_OUTCOMES as readonly string[]).includes(run.status) ? (run.status as RunOutcome) : 'failed';
  if (run.failedItems === 0) return 'completed';
  return run.completedItems === 0 ? 'all_failed' : 'completed_with_failures';
}

export interface RunTimes {
  /** Time spent executing, over every stretch (the first start and each resume); null before the start. */
  activeMs: number | null;
  /** From the first start to the finish (to `now` while not finished); null before the start. */
  wallMs: number | null;
}

type Instant = Date | string | number;
const ms = (d: Instant) => (d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Date.parse(d));

/** Run.executorId of a run handed to the shard queue: `queue:<stretch>`. */
export const QUEUE_HOLDER = 'queue:';

/**
 * Whether some process executes the run now, as its row says: its shards are on the queue (the
 * distributed executor), or its holder's lease has not run out. A process asked about a run
 * another one executes counts its current stretch from this; a holder that died stops counting
 * when its lease runs out.
 */
export function executingElsewhere(
  run: { status: string; executorId: string | null; leaseUntil: Instant | null },
  now: number = Date.now(),
): boolean {
  if (run.status !== 'running' || !run.executorId) return false;
  return run.executorId.startsWith(QUEUE_HOLDER) || (run.leaseUntil != null && ms(run.leaseUntil) > now);
}

export function runTimes(
  run: {
    startedAt: Instant | null;
    finishedAt: Instant | null;
    activeMs: number;
    stretchStartedAt: Instant | null;
  },
  now: number = Date.now(),
): RunTimes {
  if (run.startedAt == null) return { activeMs: null, wallMs: null };
  const current = run.stretchStartedAt != null ? Math.max(0, now - ms(run.stretchStartedAt)) : 0;
  return {
    activeMs: run.activeMs + current,
    wallMs: Math.max(0, (run.finishedAt != null ? ms(run.finishedAt) : now) - ms(run.startedAt)),
  };
}

/** Items finished (completed or failed) per second of active time; null when there is none. */
export function throughput(finished: number, activeMs: number | null): number | null {
  return activeMs ? (finished / activeMs) * 1000 : null;
}
