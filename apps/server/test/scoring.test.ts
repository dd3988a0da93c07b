// The scoring API's contract over HTTP: hostile or wrong scorers are refused naming the field with
// nothing created, judges must be registered models, re-scoring is refused while a run is going,
// and unknown runs are 404 naming runId.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, promptSet, startTestServer, type TestServer } from './helpers.js';

describe('scoring through the API', () => {
  let t: TestServer;
  let setId: string;
  let modelId: string;
  beforeAll(async () => {
    t = await startTestServer('sqlite');
    setId = (await promptSet(t.client, 3)).id;
    modelId = (
      await t.client.models.create.mutate({
        name: 'slow-sim',
        provider: 'simulated',
        providerModel: 'slow-sim',
        params: { simulation: { latencyMs: 30_000 } },
      })
    ).id;
  });
  afterAll(async () => {
    await t?.close();
  });

  const runs = () => t.server.engine.db.prisma.run.count();
  const create = (scorers: unknown) =>
    t.client.runs.create.mutate({
      promptSetId: setId,
      modelIds: [modelId],
      concurrency: 1,
      // Hostile input on purpose: the server must refuse it, whatever the client's types say.
      scorers: scorers as never,
    });

  it('refuses a backtracking pattern, user code and an unregistered judge, naming the field; creates nothing', async () => {
    const redos = await failure(create([{ type: 'regex', value: '(a+)+\\1' }]));
    expect([redos.code, redos.httpStatus]).toEqual(['BAD_REQUEST', 400]);
    expect(redos.message).toMatch(/^scorers\.0\.value: not a valid RE2 pattern/);
    const code = await failure(create([{ type: 'javascript', value: 'process.exit(1)' }]));
    expect(code.message).toMatch(/^scorers\.0\.type: /);
    const judge = await failure(create([{ type: 'judge', judge: 'nobody', rubric: 'Grade {{output}}' }]));
    expect([judge.code, judge.message]).toEqual([
      'BAD_REQUEST',
      'scorers[0].judge: judge model "nobody" is not registered',
    ]);
    expect(await runs()).toBe(0);
  });

  it('refuses a prompt file whose asserts would run code, by line', async () => {
    const err = await failure(
      t.client.promptSets.import.mutate({
        name: 'with asserts',
        format: 'jsonl',
        content: [
          '{"input":"a","assert":[{"type":"contains","value":"x"}]}',
          '{"input":"b","assert":[{"type":"python","value":"1"}]}',
        ].join('\n'),
      }),
    );
    expect(err.message).toMatch(/line 2: assert\[0\]\.type: "python" runs user code/);
  });

  it('re-scoring: 404 for an unknown run, 409 while the run is going', async () => {
    const unknown = await failure(t.client.runs.score.mutate({ runId: 'no-such-run', scorers: [{ type: 'is-json' }] }));
    expect([unknown.code, Object.keys(unknown.fieldErrors)]).toEqual(['NOT_FOUND', ['runId']]);
    const scores = await failure(t.client.runs.scores.query({ runId: 'no-such-run' }));
    expect(scores.code).toBe('NOT_FOUND');
    const run = await create([{ type: 'is-json' }]);
    const busy = await failure(t.client.runs.score.mutate({ runId: run.id, scorers: [{ type: 'is-json' }] }));
    expect([busy.code, busy.httpStatus]).toEqual(['CONFLICT', 409]);
    expect(busy.message).toMatch(/^runId: the run is (queued|running): score it once it has finished/);
    await t.client.runs.cancel.mutate({ id: run.id });
  });
});
