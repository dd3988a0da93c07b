import { describe, expect, it } from 'vitest';
import { type ScoreInput, type ScorerSpec, scoreLocal, scorerList, scorerNameOf, scorerSpec } from '../src/index.js';

const item = (output: string, over: Partial<ScoreInput> = {}): ScoreInput => ({
  input: 'What is the capital of France?',
  expected: 'Paris',
  output,
  latencyMs: 120,
  costUsd: 0.002,
  ...over,
});

type Local = Exclude<ScorerSpec, { type: 'judge' }>;
const spec = (s: unknown) => scorerSpec.parse(s) as Local;

// [scorer, answer (and item overrides), status, score]
const table: Array<[unknown, string, Partial<ScoreInput>, 'pass' | 'fail' | 'error', number | null]> = [
  [{ type: 'equals' }, 'Paris', {}, 'pass', 1],
  [{ type: 'equals' }, ' Paris\n', {}, 'pass', 1],
  [{ type: 'equals' }, 'paris', {}, 'fail', 0],
  [{ type: 'equals', value: 'Lyon' }, 'Lyon', {}, 'pass', 1],
  [{ type: 'equals' }, 'Paris', { expected: null }, 'error', null],
  [{ type: 'contains' }, 'It is Paris.', {}, 'pass', 1],
  [{ type: 'contains' }, 'It is PARIS.', {}, 'fail', 0],
  [{ type: 'icontains' }, 'It is PARIS.', {}, 'pass', 1],
  [{ type: 'icontains', value: 'lyon' }, 'It is PARIS.', {}, 'fail', 0],
  [{ type: 'starts-with' }, '  Paris, of course', {}, 'pass', 1],
  [{ type: 'starts-with' }, 'Of course Paris', {}, 'fail', 0],
  [{ type: 'regex', value: '^\\d{4}-\\d{2}$' }, '2026-11', {}, 'pass', 1],
  [{ type: 'regex', value: '^\\d{4}-\\d{2}$' }, 'in 2026-11', {}, 'fail', 0],
  [{ type: 'regex', value: 'paris', flags: 'i' }, 'PARIS', {}, 'pass', 1],
  [{ type: 'regex' }, 'Paris!', { expected: 'P.r' }, 'pass', 1],
  [{ type: 'regex' }, 'x', { expected: '(a' }, 'error', null],
  [{ type: 'is-json' }, ' {"a": [1, 2]} ', {}, 'pass', 1],
  [{ type: 'is-json' }, '```json\n{"a":1}\n```', {}, 'fail', 0],
  [{ type: 'is-json' }, 'Sure! {"a":1}', {}, 'fail', 0],
  [
    { type: 'json-schema', schema: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } } },
    '{"city":"Paris"}',
    {},
    'pass',
    1,
  ],
  [
    { type: 'json-schema', schema: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } } },
    '{"city":7}',
    {},
    'fail',
    0,
  ],
  [{ type: 'json-schema', schema: { type: 'object' } }, 'not json', {}, 'fail', 0],
  [{ type: 'number', tolerance: 0.01 }, '3.14', { expected: '3.14159' }, 'pass', 1],
  [{ type: 'number', tolerance: 0.001 }, '3.14', { expected: '3.14159' }, 'fail', 0],
  [{ type: 'number', value: 1200 }, 'About 1,200 people.', {}, 'pass', 1],
  [{ type: 'number', value: -4 }, 'The answer is -4.', {}, 'pass', 1],
  [{ type: 'number' }, 'no digits here', { expected: '4' }, 'fail', 0],
  [{ type: 'number' }, '4', { expected: 'four' }, 'error', null],
  [{ type: 'length', min: 2, max: 5 }, 'Paris', {}, 'pass', 1],
  [{ type: 'length', max: 4 }, 'Paris', {}, 'fail', 0],
  [{ type: 'length', min: 2 }, '😀', {}, 'fail', 0],
  [{ type: 'latency', maxMs: 200 }, 'x', {}, 'pass', 1],
  [{ type: 'latency', maxMs: 100 }, 'x', {}, 'fail', 0],
  [{ type: 'latency', maxMs: 100 }, 'x', { latencyMs: null }, 'error', null],
  [{ type: 'cost', maxUsd: 0.01 }, 'x', {}, 'pass', 1],
  [{ type: 'cost', maxUsd: 0.001 }, 'x', {}, 'fail', 0],
  [{ type: 'cost', maxUsd: 0.001 }, 'x', { costUsd: null }, 'error', null],
];

describe('local scorers', () => {
  it.each(table)('%j on %j', (s, output, over, status, score) => {
    const r = scoreLocal(spec(s), item(output, over));
    expect(r.status).toBe(status);
    expect(r.score).toBe(score);
    expect(r.reason).not.toMatch(/\n/);
    expect(r.reason.length).toBeGreaterThan(0);
    expect(r.reason.length).toBeLessThanOrEqual(200);
  });

  it('says why in one line, even when the answer has many', () => {
    const r = scoreLocal(spec({ type: 'equals', value: 'a' }), item(`line\n`.repeat(1000)));
    expect(r.status).toBe('fail');
    expect(r.reason).not.toContain('\n');
    expect(r.reason.length).toBeLessThanOrEqual(200);
  });
});

describe('hostile patterns and schemas', () => {
  it('a catastrophic-backtracking pattern runs in linear time on RE2 (answers, does not hang)', () => {
    // On a backtracking engine /(a+)+$/ against 50,000 a's and a "!" never returns.
    const r = scoreLocal(spec({ type: 'regex', value: '(a+)+$' }), item(`${'a'.repeat(50_000)}!`));
    expect(r.status).toBe('fail');
  });

  it('a JSON Schema pattern runs on RE2 too', () => {
    const s = spec({ type: 'json-schema', schema: { type: 'string', pattern: '^(a+)+$' } });
    expect(scoreLocal(s, item(JSON.stringify(`${'a'.repeat(50_000)}!`))).status).toBe('fail');
    expect(scoreLocal(s, item('"aaa"')).status).toBe('pass');
  });

  it('refuses what RE2 cannot run, and bad schemas, naming the field', () => {
    const bad = (s: unknown) => {
      const r = scorerSpec.safeParse(s);
      expect(r.success).toBe(false);
      return r.error!.issues[0]!;
    };
    expect(bad({ type: 'regex', value: '(a)\\1' }).path).toEqual(['value']);
    expect(bad({ type: 'regex', value: 'a', flags: 'gx' }).path).toEqual(['flags']);
    expect(bad({ type: 'regex', value: 'x'.repeat(1001) }).path).toEqual(['value']);
    expect(bad({ type: 'json-schema', schema: { type: 'no-such-type' } }).path).toEqual(['schema']);
    expect(bad({ type: 'json-schema', schema: { type: 'object', requird: ['city'] } }).message).toMatch(/requird/);
    expect(bad({ type: 'json-schema', schema: { $ref: 'https://example.com/s.json' } }).path).toEqual(['schema']);
    expect(bad({ type: 'length' }).path).toEqual(['min']);
    expect(bad({ type: 'length', min: 5, max: 2 }).path).toEqual(['min']);
    expect(bad({ type: 'judge', judge: 'j', rubric: 'Is it polite?' }).path).toEqual(['rubric']);
    expect(bad({ type: 'javascript', value: 'process.exit(1)' }).path).toEqual(['type']);
  });
});

describe('scorer lists', () => {
  it('names scorers by type and value, and refuses two of one name', () => {
    expect(scorerNameOf(scorerSpec.parse({ type: 'contains', value: 'Paris' }))).toBe('contains:Paris');
    expect(scorerNameOf(scorerSpec.parse({ type: 'equals' }))).toBe('equals:expected');
    const r = scorerList.safeParse([
      { type: 'contains', value: 'a' },
      { type: 'contains', value: 'a' },
    ]);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual([1, 'name']);
    expect(
      scorerList.safeParse([
        { type: 'contains', value: 'a' },
        { type: 'contains', value: 'a', name: 'again' },
      ]).success,
    ).toBe(true);
  });
});
