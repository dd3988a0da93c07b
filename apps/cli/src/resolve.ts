// Turns what the user typed (model names or ids, a prompt set id or a file) into ids.
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { type Client, createOnce } from './client.js';
import { CliError } from './errors.js';

/**
 * The ids of the models `wanted` names: each value a model's id or name (any case), or a comma
 * list of them. A value that is itself a model's name is taken whole, commas and all.
 */
export async function resolveModels(client: Client, wanted: string[]): Promise<string[]> {
  const models = await client.models.list.query({ includeArchived: false });
  const find = (w: string) =>
    models.find((x) => x.id === w) ?? models.find((x) => x.name.toLowerCase() === w.toLowerCase());
  const ids = wanted.flatMap((value) => {
    const whole = find(value.trim());
    if (whole) return [whole.id];
    return value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const m = find(part);
        if (!m) throw new CliError(`--model: no model named or with id "${part}" (see \`batchlight models list\`)`);
        return m.id;
      });
  });
  if (!ids.length)
    throw new CliError(
      '--model: name at least one model (--model A --model B, or --model A,B; `batchlight models list` shows them)',
    );
  return ids;
}

export function promptFormat(file: string): 'jsonl' | 'csv' {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new CliError(`${file}: prompt files must end in .jsonl or .csv`);
}

/** A prompt set id, or a .jsonl/.csv file that is imported first. */
export async function resolvePromptSet(client: Client, value: string | undefined, name?: string): Promise<string> {
  if (!value) throw new CliError('--prompts: give a prompt set id or a .jsonl/.csv file');
  if (existsSync(value)) return (await importPrompts(client, value, name)).id;
  const sets = await client.promptSets.list.query();
  const set = sets.find((s) => s.id === value) ?? sets.find((s) => s.name === value);
  if (!set)
    throw new CliError(`--prompts: "${value}" is neither a file nor a prompt set (see \`batchlight prompts list\`)`);
  return set.id;
}

export async function importPrompts(client: Client, file: string, name?: string) {
  if (!existsSync(file)) throw new CliError(`${file}: no such file`);
  const input = { name: name ?? basename(file), format: promptFormat(file), content: readFileSync(file, 'utf8') };
  return createOnce((requestId) => client.promptSets.import.mutate({ ...input, requestId }));
}
