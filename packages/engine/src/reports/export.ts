// Streams a run as CSV or JSONL, a page of items at a time: a 100,000-item run never sits in
// memory. No credential column exists to leak: rows are built from allow-listed fields.
import type { PrismaClient } from '@batchlight/db';
import { NotFoundError } from '../errors.js';
import { promptText } from '../run/prompts.js';

export const EXPORT_COLUMNS = [
  'run_id',
  'item_id',
  'prompt_index',
  'repeat_index',
  'model_id',
  'model_name',
  'provider',
  'requested_model',
  'response_model',
  'attribution',
  'status',
  'attempts',
  'latency_ms',
  'ttft_ms',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'reasoning_tokens',
  'cost_usd',
  'cost_source',
  'trace_id',
  'prompt',
  'expected',
  'output',
  'finish_reason',
  'error_type',
  'error_message',
] as const;
type Record_ = Record<(typeof EXPORT_COLUMNS)[number], string | number | null>;

const PAGE = 500;

/** Significant digits an exported float keeps: a cost (tokens × a price per million) has fewer. */
const SIGNIFICANT = 12;

/**
 * `v` without binary float noise (0.000047900000000000006 is 0.0000479): rounded to 12
 * significant digits. Whole numbers stay as they are.
 */
export function exportNumber(v: number): number {
  return Number.isInteger(v) || !Number.isFinite(v) ? v : Number(v.toPrecision(SIGNIFICANT));
}

/** A number in plain decimal notation (never 4.79e-7), noise rounded away as by exportNumber. */
export function decimalText(v: number): string {
  const n = exportNumber(v);
  const plain = String(n);
  if (!/e/i.test(plain)) return plain;
  const digits = Math.min(100, Math.max(0, SIGNIFICANT - 1 - Math.floor(Math.log10(Math.abs(n)))));
  return n.toFixed(digits).replace(/\.?0+$/, '');
}

/**
 * RFC 4180 quoting. Text starting with = + - @ gets a leading ' so spreadsheets do not run it
 * as a formula (CSV injection); numbers are written in plain decimals (decimalText).
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return decimalText(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function* exportRun(prisma: PrismaClient, runId: string, format: 'csv' | 'jsonl'): AsyncGenerator<string> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    include: { models: { select: { modelId: true, name: true, provider: true } } },
  });
  if (!run) throw new NotFoundError('runId', `run ${runId} not found`);
  const models = new Map(run.models.map((m) => [m.modelId, m]));
  if (format === 'csv') yield `${EXPORT_COLUMNS.join(',')}\n`;
  let cursor: string | undefined;
  for (;;) {
    const items = await prisma.runItem.findMany({
      where: { runId, ...(cursor ? { id: { gt: cursor } } : {}) },
      orderBy: { id: 'asc' },
      take: PAGE,
      include: { finalTrace: { omit: { input: true, rawUsage: true } } },
    });
    if (!items.length) return;
    cursor = items[items.length - 1]!.id;
    const prompts = new Map(
      (
        await prisma.prompt.findMany({
          where: { promptSetId: run.promptSetId, index: { in: [...new Set(items.map((i) => i.promptIndex))] } },
          select: { index: true, input: true, expected: true },
        })
      ).map((p) => [p.index, p]),
    );
    let chunk = '';
    for (const i of items) {
      const t = i.finalTrace;
      const m = models.get(i.modelId);
      const p = prompts.get(i.promptIndex);
      const rec: Record_ = {
        run_id: runId,
        item_id: i.id,
        prompt_index: i.promptIndex,
        repeat_index: i.repeatIndex,
        model_id: i.modelId,
        model_name: m?.name ?? null,
        provider: m?.provider ?? null,
        requested_model: t?.requestedModel ?? null,
        response_model: t?.responseModel ?? null,
        attribution: t?.attribution ?? null,
        status: i.status,
        attempts: i.attempts,
        latency_ms: t?.latencyMs != null ? exportNumber(t.latencyMs) : null,
        ttft_ms: t?.ttftMs != null ? exportNumber(t.ttftMs) : null,
        input_tokens: t?.inputTokens ?? null,
        output_tokens: t?.outputTokens ?? null,
        cached_input_tokens: t?.cachedInputTokens ?? null,
        reasoning_tokens: t?.reasoningTokens ?? null,
        cost_usd: t?.costUsd != null ? exportNumber(t.costUsd) : null,
        cost_source: t?.costSource ?? null,
        trace_id: t?.id ?? null,
        prompt: p ? promptText(p.input) : null,
        expected: p?.expected ?? null,
        output: t?.output ?? null,
        finish_reason: t?.finishReason ?? null,
        error_type: t?.errorType ?? null,
        error_message: t?.errorMessage ?? null,
      };
      chunk +=
        format === 'csv' ? `${EXPORT_COLUMNS.map((c) => csvField(rec[c])).join(',')}\n` : `${JSON.stringify(rec)}\n`;
    }
    yield chunk;
    if (items.length < PAGE) return;
  }
}
