// `batchlight models test`: one short prompt through a model.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { ms, print } from '../format.js';
import { resolveModels } from '../resolve.js';

export const modelsTest = defineCommand({
  name: 'models test',
  usage: '<name|id>',
  description: 'send one short prompt through the model (exit 1 if it fails)',
  options: [],
  args: ['<name|id>'],
  async run(ctx, _v, [model]) {
    const [id] = await resolveModels(ctx.client, [model!]);
    const r = await ctx.client.models.test.mutate({ id: id! });
    print(ctx.json, r, () =>
      r.ok
        ? `ok in ${ms(r.latencyMs)}: sent ${r.requestedModel}, ${r.responseModel ?? 'no model'} answered ` +
          `(${r.attribution}): ${JSON.stringify(r.output)}`
        : `failed after ${ms(r.latencyMs)}: ${r.url ?? 'the simulator'}: ${r.cause}\n  ${r.error.message}`,
    );
    return r.ok ? EXIT.ok : EXIT.runFailed;
  },
});
