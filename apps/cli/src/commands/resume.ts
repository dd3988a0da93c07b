// `batchlight resume`: resumes an interrupted or cancelled run.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { print } from '../format.js';

export const resume = defineCommand({
  name: 'resume',
  usage: '<runId> [--retry-failed]',
  description: 'resume an interrupted or cancelled run (with --retry-failed, its failed items too)',
  options: ['retry-failed'],
  args: ['<runId>'],
  async run(ctx, v, [id]) {
    const r = await ctx.client.runs.resume.mutate({ id: id!, retryFailed: v['retry-failed'] ?? false });
    print(ctx.json, r, () => `run ${r.id}: ${r.status}; follow it with: batchlight follow ${r.id}`);
    return EXIT.ok;
  },
});
