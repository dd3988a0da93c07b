// Re-checks every trace and message of a run against the model snapshot it was made with and
// against the model the provider reported. Pages through the run: memory stays flat in its size.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Prisma, PrismaClient, RunModel } from '@batchlight/db';
import { type Attribution, attributionOf } from '@batchlight/llm';
import { NotFoundError } from '../errors.js';
import { ACTIVE_RUN_STATUSES, type RunStatus } from '../events/types.js';

export type FindingKind =
  | 'provider_reported_other_model'
  | 'requested_model_differs'
  | 'provider_differs'
  | 'revision_differs'
  | 'attribution_recomputed_differs'
  | 'item_model_differs'
  | 'message_model_differs'
  | 'message_without_trace';

export interface AuditFinding {
  kind: FindingKind;
  traceId: string | null;
  messageId?: string;
  modelId: string;
  modelName: string;
  expected: string;
  actual: string;
}

/**
 * What the audit can say of the run as a whole: `ok` (answers were checked, nothing found),
 * `findings`, `nothing_to_check` (no call answered, so no attribution could be checked) or
 * `still_running` (the run is not over: whatever is recorded so far may change; it comes first,
 * findings included, because nothing about the run is final yet).
 */
export type AuditVerdict = 'ok' | 'findings' | 'nothing_to_check' | 'still_running';

export interface AuditReport {
  runId: string;
  /** The run's status when it was audited. */
  runStatus: RunStatus;
  verdict: AuditVerdict;
  /** No finding (the verdict says whether that means much). */
  ok: boolean;
  tracesChecked: number;
  /** Traces of calls that answered: the ones whose attribution there is to check. */
  tracesAnswered: number;
  messagesChecked: number;
  counts: Record<Attribution, number>;
  findings: AuditFinding[];
  findingsTotal: number;
}

/** What the audit reads of each trace. */
const TRACE_FIELDS = {
  id: true,
  modelId: true,
  provider: true,
  requestedModel: true,
  responseModel: true,
  attribution: true,
  modelRevision: true,
  status: true,
  item: { select: { modelId: true, runId: true } },
} satisfies Prisma.TraceSelect;
type TraceRow = Prisma.TraceGetPayload<{ select: typeof TRACE_FIELDS }>;

type MessageRow = {
  id: string;
  modelId: string | null;
  provider: string | null;
  providerModel: string | null;
  traceId: string | null;
  trace: { modelId: string } | null;
};

const PAGE = 1000;
const MAX_FINDINGS = 1000;

/**
 * A query's rows in id order, PAGE at a time (`fetch` answers the rows after an id). SQLite answers
 * synchronously: without a turn of the event loop before each page, a 100,000-item run's audit
 * held every other request (and the run's own writes) for its whole length.
 */
async function* pagesById<T extends { id: string }>(fetch: (after: string | undefined) => Promise<T[]>) {
  let after: string | undefined;
  for (;;) {
    await yieldToLoop();
    const rows = await fetch(after);
    if (rows.length) yield rows;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

export async function auditRun(prisma: PrismaClient, runId: string): Promise<AuditReport> {
  const run = await prisma.run.findUnique({ where: { id: runId }, include: { models: true } });
  if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
  const snapshots = new Map<string, RunModel>(run.models.map((m) => [m.modelId, m]));
  const report: AuditReport = {
    runId,
    runStatus: run.status as RunStatus,
    verdict: 'ok',
    ok: true,
    tracesChecked: 0,
    tracesAnswered: 0,
    messagesChecked: 0,
    counts: { match: 0, alias: 0, mismatch: 0, unknown: 0 },
    findings: [],
    findingsTotal: 0,
  };
  const add = (f: AuditFinding) => {
    report.findingsTotal++;
    if (report.findings.length < MAX_FINDINGS) report.findings.push(f);
  };

  const checkTrace = (t: TraceRow) => {
    report.tracesChecked++;
    const snap = snapshots.get(t.modelId);
    const name = snap?.name ?? t.modelId;
    const f = (kind: FindingKind, expected: string, actual: string) =>
      add({ kind, traceId: t.id, modelId: t.modelId, modelName: name, expected, actual });
    if (!snap) {
      f('requested_model_differs', 'a model this run targets', t.modelId);
      return;
    }
    if (t.provider !== snap.provider) f('provider_differs', snap.provider, t.provider);
    if (t.requestedModel !== snap.providerModel) f('requested_model_differs', snap.providerModel, t.requestedModel);
    if (t.modelRevision !== snap.modelRevision)
      f('revision_differs', String(snap.modelRevision), String(t.modelRevision));
    // Every trace is recomputed (a failed call has no response model: 'unknown'); the counts
    // cover successful calls only, the ones that produced an answer to attribute.
    const recomputed = attributionOf(t.requestedModel, t.responseModel);
    if (recomputed !== t.attribution) f('attribution_recomputed_differs', recomputed, t.attribution);
    if (t.status === 'ok') {
      report.tracesAnswered++;
      report.counts[recomputed]++;
    }
    if (recomputed === 'mismatch') f('provider_reported_other_model', t.requestedModel, t.responseModel ?? '(none)');
    if (t.item && (t.item.modelId !== t.modelId || t.item.runId !== runId))
      f('item_model_differs', t.modelId, t.item.modelId);
  };

  // Model by model, in id order within each: the (runId, modelId, id) index gives every page
  // without sorting the run's traces. Last, any trace of a model the run does not target.
  const modelIds = [...snapshots.keys()];
  const scopes = [...modelIds.map((modelId) => ({ modelId })), { modelId: { notIn: modelIds } }];
  for (const scope of scopes) {
    const pages = pagesById((after) =>
      prisma.trace.findMany({
        where: { runId, ...scope, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: 'asc' },
        take: PAGE,
        select: TRACE_FIELDS,
      }),
    );
    for await (const traces of pages) for (const t of traces) checkTrace(t);
  }

  const messagePages = pagesById(
    (after): Promise<MessageRow[]> =>
      prisma.message.findMany({
        where: { runId, role: 'assistant', ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: 'asc' },
        take: PAGE,
        select: {
          id: true,
          modelId: true,
          provider: true,
          providerModel: true,
          traceId: true,
          trace: { select: { modelId: true } },
        },
      }),
  );
  for await (const messages of messagePages) {
    for (const m of messages) {
      report.messagesChecked++;
      const snap = m.modelId ? snapshots.get(m.modelId) : undefined;
      const base = {
        traceId: m.traceId,
        messageId: m.id,
        modelId: m.modelId ?? '',
        modelName: snap?.name ?? m.modelId ?? '',
      };
      if (!m.traceId || !m.trace) {
        add({ ...base, kind: 'message_without_trace', expected: 'a trace', actual: 'none' });
        continue;
      }
      if (m.modelId !== m.trace.modelId)
        add({ ...base, kind: 'message_model_differs', expected: m.trace.modelId, actual: m.modelId ?? '(none)' });
      else if (!snap || m.provider !== snap.provider || m.providerModel !== snap.providerModel)
        add({
          ...base,
          kind: 'message_model_differs',
          expected: snap ? `${snap.provider}:${snap.providerModel}` : 'a model this run targets',
          actual: `${m.provider}:${m.providerModel}`,
        });
    }
  }
  report.ok = report.findingsTotal === 0;
  report.verdict = (ACTIVE_RUN_STATUSES as readonly string[]).includes(run.status)
    ? 'still_running'
    : !report.ok
      ? 'findings'
      : report.tracesAnswered === 0
        ? 'nothing_to_check'
        : 'ok';
  return report;
}
