import { describe, expect, it } from 'vitest';
import { assertFromText, parseAsserts } from '../src/index.js';

describe('prompt-file assert entries', () => {
  it('reads promptfoo-like entries into scorers', () => {
    const r = parseAsserts(
      [
        { type: 'contains', value: 'Paris' },
        { type: 'icontains', value: 'paris', metric: 'city' },
        { type: 'regex', value: '^\\w+$' },
        { type: 'equals' },
        { type: 'is-json' },
        { type: 'is-json', value: { type: 'object' } },
        { type: 'latency', threshold: 2000 },
        { type: 'cost', threshold: 0.01 },
        { type: 'llm-rubric', value: 'Is {{output}} polite?', provider: 'judge-model' },
        { type: 'number', value: 3, tolerance: 0.5 },
      ],
      {},
    );
    expect(r).toEqual({
      ok: true,
      scorers: [
        { type: 'contains', value: 'Paris' },
        { type: 'icontains', value: 'paris', name: 'city' },
        { type: 'regex', value: '^\\w+$' },
        { type: 'equals' },
        { type: 'is-json' },
        { type: 'json-schema', schema: { type: 'object' } },
        { type: 'latency', maxMs: 2000 },
        { type: 'cost', maxUsd: 0.01 },
        { type: 'judge', rubric: 'Is {{output}} polite?', judge: 'judge-model' },
        { type: 'number', value: 3, tolerance: 0.5 },
      ],
    });
  });

  it('a rubric without a judge takes the default judge, or is refused naming the field', () => {
    const e = [{ type: 'llm-rubric', value: 'Rate {{output}}' }];
    expect(parseAsserts(e)).toEqual({
      ok: false,
      message: 'assert[0].provider: name the judge model (its registry name or id) for "llm-rubric"',
    });
    const r = parseAsserts(e, { defaultJudge: 'grader' });
    expect(r.ok && r.scorers[0]).toEqual({ type: 'judge', rubric: 'Rate {{output}}', judge: 'grader' });
  });

  it('refuses code, unknown types and bad values, naming the entry', () => {
    const msg = (v: unknown) => {
      const r = parseAsserts(v);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.message;
    };
    expect(msg([{ type: 'javascript', value: 'output.length > 3' }])).toBe(
      'assert[0].type: "javascript" runs user code, and batchlight runs none in the server',
    );
    expect(msg([{ type: 'contains', value: 'a' }, { type: 'levenshtein' }])).toMatch(/^assert\[1\]\.type: /);
    expect(msg([{ type: 'regex', value: '(x)\\1' }])).toMatch(/^assert\[0\]\.value: not a valid RE2 pattern/);
    expect(msg([{ type: 'latency', threshold: -1 }])).toMatch(/^assert\[0\]\.maxMs: /);
    expect(msg({ type: 'contains' })).toBe('assert: an array of assertions');
    expect(msg(['contains'])).toBe('assert[0]: an object with a "type"');
  });

  it('reads CSV cells as promptfoo does', () => {
    expect(assertFromText('contains: Paris')).toEqual({ type: 'contains', value: 'Paris' });
    expect(assertFromText('icontains:paris')).toEqual({ type: 'icontains', value: 'paris' });
    expect(assertFromText('is-json')).toEqual({ type: 'is-json' });
    expect(assertFromText('latency: 500')).toEqual({ type: 'latency', threshold: 500 });
    expect(assertFromText('llm-rubric: Is {{output}} kind?')).toEqual({
      type: 'llm-rubric',
      value: 'Is {{output}} kind?',
    });
    expect(assertFromText('javascript: 1')).toEqual({ type: 'javascript', value: '1' });
    expect(assertFromText('Paris: the capital')).toEqual({ type: 'equals', value: 'Paris: the capital' });
  });
});
