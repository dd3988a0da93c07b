import { describe, expect, it } from 'vitest';
import { parseCsv, parseJsonl, parsePromptFile } from '../src/prompt-import.js';

describe('JSONL import', () => {
  it('reads input, prompt, messages and bare strings, with expected and metadata', () => {
    const r = parseJsonl(
      [
        '{"input": "first", "expected": "1", "metadata": {"tag": "a"}}',
        '',
        '"second"',
        '{"prompt": "third"}',
        '{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "fourth"}]}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.prompts.map((p) => p.input)).toEqual([
      'first',
      'second',
      'third',
      [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'fourth' },
      ],
    ]);
    expect(r.prompts[0]).toMatchObject({ expected: '1', metadata: { tag: 'a' } });
    // Numbered as errors are: by file line, blank lines counted.
    expect(r.prompts.map((p) => p.line)).toEqual([1, 3, 4, 5]);
  });

  it('names the line of every bad record', () => {
    const r = parseJsonl(
      [
        '{"input": "ok"}',
        '{not json',
        '{"input": ""}',
        '{"other": 1}',
        '{"messages": [{"role": "robot", "content": "x"}]}',
      ].join('\n'),
    );
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(r.errors[0]!.message).toMatch(/not valid JSON/);
    expect(r.errors[2]!.message).toMatch(/missing "input"/);
  });
});

describe('CSV import', () => {
  it('handles quotes, commas, doubled quotes and newlines inside fields; other columns become metadata', () => {
    const r = parseCsv('id,input,expected\n1,"Hello, ""world""",hi\n2,"line one\nline two",\n3,plain,x\n');
    expect(r.errors).toEqual([]);
    expect(r.prompts.map((p) => p.input)).toEqual(['Hello, "world"', 'line one\nline two', 'plain']);
    expect(r.prompts[0]).toMatchObject({ expected: 'hi', metadata: { id: '1' } });
    expect(r.prompts[1]!.expected).toBeNull();
    // The header is line 1; a record is numbered by the line it starts on.
    expect(r.prompts.map((p) => p.line)).toEqual([2, 3, 5]);
  });

  it('reports the line a bad record starts on, counting newlines inside quoted fields', () => {
    const r = parseCsv('input,expected\n"multi\nline",a\nonly-one-field\n,empty\n');
    expect(r.errors).toEqual([
      { line: 4, message: 'expected 2 fields, found 1' },
      { line: 5, message: '"input" is empty' },
    ]);
    expect(parseCsv('prompt_text\nx\n').errors[0]).toMatchObject({
      line: 1,
      message: expect.stringMatching(/"input"/),
    });
    expect(parseCsv('input\n"open\n').errors[0]!.message).toMatch(/not closed/);
  });

  it('says when a file holds no prompts', () => {
    expect(parsePromptFile('jsonl', '\n\n').errors).toEqual([{ line: 1, message: 'no prompts found' }]);
  });
});

describe('assert entries (promptfoo-like)', () => {
  it('JSONL: an `assert` array becomes the prompt scorers; code and unknown types are refused by line', () => {
    const r = parseJsonl(
      [
        '{"input": "capital of France?", "expected": "Paris", "assert": [{"type": "icontains", "value": "paris"}, {"type": "llm-rubric", "value": "Is {{output}} right?", "provider": "judge"}]}',
        '{"input": "no asserts"}',
        '{"input": "x", "assert": [{"type": "javascript", "value": "output.length > 3"}]}',
        '{"input": "y", "assert": [{"type": "regex", "value": "(a)\\\\1"}]}',
      ].join('\n'),
    );
    expect(r.prompts[0]!.asserts).toEqual([
      { type: 'icontains', value: 'paris' },
      { type: 'judge', rubric: 'Is {{output}} right?', judge: 'judge' },
    ]);
    expect(r.prompts[1]!.asserts).toBeNull();
    expect(r.errors).toEqual([
      { line: 3, message: 'assert[0].type: "javascript" runs user code, and batchlight runs none in the server' },
      { line: 4, message: expect.stringMatching(/^assert\[0\]\.value: not a valid RE2 pattern/) },
    ]);
  });

  it('CSV: `assert` and `__expected` columns hold one assertion each; empty cells add none', () => {
    const r = parseCsv(
      [
        'input,expected,assert,__expected2,tag',
        'capital of France?,Paris,icontains: paris,latency: 2000,geo',
        'two plus two,4,,,math',
        'bad,,python: 1,,',
      ].join('\n'),
    );
    expect(r.prompts[0]).toMatchObject({
      expected: 'Paris',
      metadata: { tag: 'geo' },
      asserts: [
        { type: 'icontains', value: 'paris' },
        { type: 'latency', maxMs: 2000 },
      ],
    });
    expect(r.prompts[1]).toMatchObject({ asserts: null, metadata: { tag: 'math' } });
    expect(r.errors).toEqual([{ line: 4, message: expect.stringMatching(/"python" runs user code/) }]);
  });
});
