// Parses prompt files (JSONL or CSV) into prompts, with errors that name the line.

import { csvRecords } from '@batchlight/engine';
import { assertFromText, parseAsserts, type ScorerSpec } from '@batchlight/scoring';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { checkInput } from './input-check.js';
import { promptInput } from './schemas.js';

export interface ParsedPrompt {
  /** Where it is in the file: its first line, 1-based, a CSV header counted (as errors number lines). */
  line: number;
  input: string | Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  expected?: string | null;
  metadata?: Record<string, unknown> | null;
  /** Scorers of this prompt alone, from its `assert` entries (promptfoo-like). */
  asserts?: ScorerSpec[] | null;
}
export interface ImportError {
  line: number;
  message: string;
}
export interface ParseResult {
  prompts: ParsedPrompt[];
  errors: ImportError[];
}

const MAX_ERRORS = 50;
const jsonlRecord = z.object({
  input: promptInput.optional(),
  prompt: promptInput.optional(),
  messages: promptInput.optional(),
  expected: z.union([z.string(), z.number()]).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  assert: z.unknown().optional(),
});

/** One JSON value per line: `{"input": "..."}` (also `prompt` or `messages`), or a bare string. */
export function parseJsonl(content: string): ParseResult {
  const prompts: ParsedPrompt[] = [];
  const errors: ImportError[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim() || errors.length >= MAX_ERRORS) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      errors.push({ line, message: `not valid JSON (${(err as Error).message})` });
      return;
    }
    if (typeof value === 'string') value = { input: value };
    // The rule every input keeps (input-check.ts), for what the file's JSON escapes hold.
    try {
      checkInput(value);
    } catch (err) {
      if (!(err instanceof TRPCError)) throw err;
      errors.push({ line, message: err.message });
      return;
    }
    const r = jsonlRecord.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      errors.push({ line, message: `${issue.path.join('.') || 'record'}: ${issue.message}` });
      return;
    }
    const input = r.data.input ?? r.data.prompt ?? r.data.messages;
    if (input === undefined) {
      errors.push({ line, message: 'missing "input" (or "prompt" / "messages")' });
      return;
    }
    let asserts: ScorerSpec[] | null = null;
    if (r.data.assert != null) {
      const a = parseAsserts(r.data.assert);
      if (!a.ok) {
        errors.push({ line, message: a.message });
        return;
      }
      asserts = a.scorers.length ? a.scorers : null;
    }
    prompts.push({
      line,
      input,
      expected: r.data.expected == null ? null : String(r.data.expected),
      metadata: r.data.metadata ?? null,
      asserts,
    });
  });
  return { prompts, errors };
}

/**
 * A header row naming an `input` (or `prompt`) column; `expected` optional; `assert` and
 * promptfoo's `__expected`, `__expected1`… columns hold one assertion each (`contains: Paris`); other
 * columns become metadata.
 */
export function parseCsv(content: string): ParseResult {
  const records = csvRecords(content.replace(/^\uFEFF/, ''));
  if (!Array.isArray(records)) return { prompts: [], errors: [records] };
  const [header, ...rows] = records;
  if (!header) return { prompts: [], errors: [{ line: 1, message: 'the file is empty' }] };
  const names = header.fields.map((h) => h.trim().toLowerCase());
  const inputCol = names.findIndex((n) => n === 'input' || n === 'prompt');
  if (inputCol < 0)
    return {
      prompts: [],
      errors: [{ line: header.line, message: 'the header needs an "input" (or "prompt") column' }],
    };
  const expectedCol = names.indexOf('expected');
  const assertCols = names.flatMap((n, i) => (/^(assert\d*|__expected\d*)$/.test(n) ? [i] : []));
  const prompts: ParsedPrompt[] = [];
  const errors: ImportError[] = [];
  for (const r of rows) {
    if (errors.length >= MAX_ERRORS) break;
    if (r.fields.length !== names.length) {
      errors.push({ line: r.line, message: `expected ${names.length} fields, found ${r.fields.length}` });
      continue;
    }
    const input = r.fields[inputCol]!;
    if (!input.trim()) {
      errors.push({ line: r.line, message: `"${header.fields[inputCol]}" is empty` });
      continue;
    }
    const metadata: Record<string, string> = {};
    names.forEach((_n, i) => {
      if (i !== inputCol && i !== expectedCol && !assertCols.includes(i)) metadata[header.fields[i]!] = r.fields[i]!;
    });
    const cells = assertCols.map((i) => r.fields[i]!).filter((c) => c.trim() !== '');
    let asserts: ScorerSpec[] | null = null;
    if (cells.length) {
      const a = parseAsserts(cells.map(assertFromText));
      if (!a.ok) {
        errors.push({ line: r.line, message: a.message });
        continue;
      }
      asserts = a.scorers;
    }
    prompts.push({
      line: r.line,
      input,
      expected: expectedCol >= 0 ? r.fields[expectedCol] || null : null,
      metadata: Object.keys(metadata).length ? metadata : null,
      asserts,
    });
  }
  return { prompts, errors };
}

export function parsePromptFile(format: 'jsonl' | 'csv', content: string): ParseResult {
  const r = format === 'jsonl' ? parseJsonl(content) : parseCsv(content);
  if (!r.errors.length && !r.prompts.length) r.errors.push({ line: 1, message: 'no prompts found' });
  return r;
}
