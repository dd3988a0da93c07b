// `batchlight follow`: live progress of a run (or the replay of a finished one), then its table.
import { defineCommand } from '../args.js';
import { followAndReport } from '../follow.js';

export const follow = defineCommand({
  name: 'follow',
  usage: '<runId>',
  description: 'live progress of a run (or the replay of a finished one), then its per-model table',
  options: [],
  args: ['<runId>'],
  run: (ctx, _v, [runId]) => followAndReport(ctx, runId!),
});
