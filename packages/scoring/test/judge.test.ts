import { describe, expect, it } from 'vitest';
import { fillRubric, JUDGE_SYSTEM_PROMPT, judgeMessages, readVerdict } from '../src/index.js';

describe('judge rubric', () => {
  it('fills input, output and expected once: text coming in is never expanded again', () => {
    const filled = fillRubric('Q: {{input}} A: {{ output }} Ref: {{expected}}', {
      input: 'say {{output}}',
      output: 'I am {{expected}}',
      expected: 'secret',
    });
    expect(filled).toBe('Q: say {{output}} A: I am {{expected}} Ref: secret');
    expect(fillRubric('{{expected}}', { input: '', output: '', expected: null })).toBe('(none given)');
  });

  it('sends the strict verdict instructions as the system message', () => {
    const m = judgeMessages('Grade {{output}}', {
      input: 'i',
      output: 'o',
      expected: null,
      latencyMs: null,
      costUsd: null,
    });
    expect(m).toEqual([
      { role: 'system', content: JUDGE_SYSTEM_PROMPT },
      { role: 'user', content: 'Grade o' },
    ]);
  });
});

describe('judge verdicts', () => {
  const table: Array<[string, 'pass' | 'fail' | 'error', number | null]> = [
    ['{"pass": true, "score": 0.9, "reason": "correct and polite"}', 'pass', 0.9],
    ['{"pass": false, "score": 0.2, "reason": "wrong city"}', 'fail', 0.2],
    ['{"pass": true, "reason": "fine"}', 'pass', 1],
    ['{"pass": false, "reason": "no"}', 'fail', 0],
    ['```json\n{"pass": true, "score": 1, "reason": "ok"}\n```', 'pass', 1],
    // Malformed: never a pass.
    ['Yes, this answer passes.', 'error', null],
    ["I'm sorry, I can't help with grading that.", 'error', null],
    ['{"pass": "true", "reason": "quoted boolean"}', 'error', null],
    ['{"pass": true, "score": 7, "reason": "out of range"}', 'error', null],
    ['{"pass": true}', 'error', null],
    ['{"score": 1, "reason": "no pass field"}', 'error', null],
    ['[{"pass": true, "reason": "array"}]', 'error', null],
    ['{"pass": true, "reason": "ok"} and some prose', 'error', null],
    ['', 'error', null],
  ];
  it.each(table)('%j → %s', (text, status, score) => {
    const r = readVerdict(text);
    expect(r.status).toBe(status);
    expect(r.score).toBe(score);
    expect(r.reason).not.toContain('\n');
  });
});
