// `batchlight cancel`: cancels a run; its calls in flight are aborted.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { print } from '../format.js';

export const cancel = defineCommand({
  name: 'cancel',
  usage: '<runId>',
  description: 'cancel a run (in-flight calls are aborted)',
  options: [],
  args: ['<runId>'],
  async run(ctx, _v, [id]) {
    const r = await ctx.client.runs.cancel.mutate({ id: id! });
    print(ctx.json, r, () => `run ${r.id}: ${r.status} (${r.cancelledItems} items cancelled)`);
    return EXIT.ok;
  },
});
