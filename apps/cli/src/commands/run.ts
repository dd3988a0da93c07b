// `batchlight run`: starts a run (importing a prompt file first), optionally following it.
import { createRunInput, RUN_DEFAULTS as D } from '@batchlight/api/schemas';
import { defineCommand, wholeNumber } from '../args.js';
import { createOnce } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { followAndReport } from '../follow.js';
import { print } from '../format.js';
import { resolveModels, resolvePromptSet } from '../resolve.js';
import { checkFailUnder, failUnderFrom, scorersFrom, scoresText } from '../scores.js';

const field = createRunInput.shape;

export const run = defineCommand({
  name: 'run',
  usage:
    '--model <name|id>… --prompts <set name|set id|file.jsonl|file.csv>\n' +
    `    [--concurrency N=${D.concurrency}] [--delay MS=${D.delayMs}] [--limit N] [--repeats N=${D.repeats}] ` +
    `[--max-retries N=${D.maxRetries}]\n    [--timeout MS=${D.timeoutMs}] [--name TEXT] [--scorer SPEC]… [--judge MODEL] [--follow [--fail-under RATE]]`,
  description:
    'start a run (a file is imported as a prompt set first); --model repeats or takes a comma list;\n' +
    'with --follow, live progress, then a per-model table and the scores;\n' +
    '--scorer "contains: Paris" (or a JSON scorer) scores every answer, --judge names the model of llm-rubric scorers;\n' +
    '--fail-under 0.9 (with --follow) exits 1 when a model passes less than 90% of its answered items',
  options: [
    'model',
    'prompts',
    'concurrency',
    'delay',
    'limit',
    'repeats',
    'max-retries',
    'timeout',
    'name',
    'follow',
    'scorer',
    'judge',
    'fail-under',
  ],
  async run(ctx, v) {
    // Every number is checked against the API's schema before anything is sent, so a bad one
    // never leaves a half-done command behind (a prompt file imported for a run that fails).
    const settings = {
      concurrency: wholeNumber('concurrency', v.concurrency, field.concurrency) ?? D.concurrency,
      delayMs: wholeNumber('delay', v.delay, field.delayMs) ?? D.delayMs,
      promptLimit: wholeNumber('limit', v.limit, field.promptLimit) ?? null,
      repeats: wholeNumber('repeats', v.repeats, field.repeats) ?? D.repeats,
      maxRetries: wholeNumber('max-retries', v['max-retries'], field.maxRetries) ?? D.maxRetries,
      timeoutMs: wholeNumber('timeout', v.timeout, field.timeoutMs) ?? D.timeoutMs,
      name: v.name ?? null,
    };
    const scorers = scorersFrom(v.scorer, v.judge);
    const failUnder = failUnderFrom(v['fail-under']);
    if (failUnder && !v.follow) throw new CliError('--fail-under: needs --follow (the run must end to be judged)');
    if (!v.prompts) throw new CliError('--prompts: give a prompt set (name or id) or a .jsonl/.csv file');
    const modelIds = await resolveModels(ctx.client, v.model ?? []);
    const promptSetId = await resolvePromptSet(ctx.client, v.prompts);
    const created = await createOnce((requestId) =>
      ctx.client.runs.create.mutate({ promptSetId, modelIds, ...settings, ...(scorers ? { scorers } : {}), requestId }),
    );
    if (!v.follow) {
      print(
        ctx.json,
        created,
        () =>
          `started run ${created.id} (${created.totalItems} items); follow it with: batchlight follow ${created.id}`,
      );
      return EXIT.ok;
    }
    if (!ctx.json) console.error(`run ${created.id}: ${created.totalItems} items`);
    const code = await followAndReport(ctx, created.id);
    const scores = await ctx.client.runs.scores.query({ runId: created.id });
    if (!scores.scored && !failUnder) return code;
    const gate = failUnder ? checkFailUnder(scores, failUnder) : null;
    if (ctx.json) console.log(JSON.stringify({ scores, ...(gate ? { failUnder: gate } : {}) }, null, 2));
    else console.log([scoresText(scores), ...(gate ? [gate.message] : [])].join('\n'));
    return gate && !gate.ok ? EXIT.runFailed : code;
  },
});
