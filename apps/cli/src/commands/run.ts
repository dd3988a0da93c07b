// `batchlight run`: starts a run (importing a prompt file first), optionally following it.
import { createRunInput, RUN_DEFAULTS as D } from '@batchlight/api/schemas';
import { defineCommand, wholeNumber } from '../args.js';
import { createOnce } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { followAndReport } from '../follow.js';
import { print } from '../format.js';
import { resolveModels, resolvePromptSet } from '../resolve.js';

const field = createRunInput.shape;

export const run = defineCommand({
  name: 'run',
  usage:
    '--model <name|id>… --prompts <set name|set id|file.jsonl|file.csv>\n' +
    `    [--concurrency N=${D.concurrency}] [--delay MS=${D.delayMs}] [--limit N] [--repeats N=${D.repeats}] ` +
    `[--max-retries N=${D.maxRetries}]\n    [--timeout MS=${D.timeoutMs}] [--name TEXT] [--follow]`,
  description:
    'start a run (a file is imported as a prompt set first); --model repeats or takes a comma list;\n' +
    'with --follow, live progress, then a per-model table',
  options: ['model', 'prompts', 'concurrency', 'delay', 'limit', 'repeats', 'max-retries', 'timeout', 'name', 'follow'],
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
    if (!v.prompts) throw new CliError('--prompts: give a prompt set (name or id) or a .jsonl/.csv file');
    const modelIds = await resolveModels(ctx.client, v.model ?? []);
    const promptSetId = await resolvePromptSet(ctx.client, v.prompts);
    const created = await createOnce((requestId) =>
      ctx.client.runs.create.mutate({ promptSetId, modelIds, ...settings, requestId }),
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
    return followAndReport(ctx, created.id);
  },
});
