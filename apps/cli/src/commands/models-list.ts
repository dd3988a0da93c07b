// `batchlight models list`: the model registry.
import { defineCommand } from '../args.js';
import { EXIT } from '../errors.js';
import { print, table } from '../format.js';

export const modelsList = defineCommand({
  name: 'models list',
  usage: '',
  description: 'the models of the registry (archived ones left out)',
  options: [],
  async run(ctx) {
    const models = await ctx.client.models.list.query({ includeArchived: false });
    print(ctx.json, models, () =>
      table(
        ['id', 'name', 'provider', 'sends', 'key', 'rev'],
        models.map((m) => [m.id, m.name, m.provider, m.providerModel, m.credentialHint, m.revision]),
      ),
    );
    return EXIT.ok;
  },
});
