// The one argument parser of every command (node:util parseArgs, strict): each command names the
// options and arguments it takes, and anything else is an error that names it (exit 2).
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { z } from 'zod';
import type { Client } from './client.js';
import { CliError } from './errors.js';

/** Every option of the CLI, defined once; a command picks the ones it takes. */
export const OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  model: { type: 'string', multiple: true },
  prompts: { type: 'string' },
  concurrency: { type: 'string' },
  delay: { type: 'string' },
  limit: { type: 'string' },
  repeats: { type: 'string' },
  'max-retries': { type: 'string' },
  timeout: { type: 'string' },
  name: { type: 'string' },
  follow: { type: 'boolean' },
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'retry-failed': { type: 'boolean' },
  wait: { type: 'boolean' },
  strict: { type: 'boolean' },
  provider: { type: 'string' },
  'provider-model': { type: 'string' },
  'base-url': { type: 'string' },
  'credential-env': { type: 'string' },
  'api-key': { type: 'string' },
  params: { type: 'string' },
  'price-in': { type: 'string' },
  'price-out': { type: 'string' },
  'price-cached': { type: 'string' },
  status: { type: 'string' },
  database: { type: 'string' },
  port: { type: 'string' },
  scorer: { type: 'string', multiple: true },
  judge: { type: 'string' },
  'fail-under': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type OptionName = keyof typeof OPTIONS;
/** What every command takes. */
export const GLOBAL_OPTIONS = ['server', 'token', 'json', 'help'] as const satisfies readonly OptionName[];

type Picked<K extends OptionName> = Pick<typeof OPTIONS, K | (typeof GLOBAL_OPTIONS)[number]>;
/** The parsed options of a command that takes the options `K` (and the global ones). */
export type Values<K extends OptionName> = ReturnType<
  typeof parseArgs<{ options: Picked<K>; allowPositionals: true; strict: true }>
>['values'];

/** What the user meant by a stray argument right after these options. */
const STRAY_HINTS: Partial<Record<OptionName, string>> = {
  model: 'several models: --model A --model B, or --model A,B',
};

export interface CommandSpec<K extends OptionName = OptionName> {
  /** One word, or a group and a word (`models add`). */
  name: string;
  /** The options and arguments after the name, as the help shows them. */
  usage: string;
  /** What it does, for the help (first line: the summary in `batchlight --help`). */
  description: string;
  options: readonly K[];
  /** Required arguments, in order (`<runId>`). */
  args?: readonly string[];
  /** One or more further arguments of this kind (`<runId>…`). */
  rest?: string;
  /** Runs without a server (the global --server and --token are ignored). */
  offline?: boolean;
  run(ctx: Context, values: Values<K>, args: string[]): Promise<number>;
}

/** What a command gets besides its arguments: no module holds state. */
export interface Context {
  client: Client;
  /** The server's URL, for messages. */
  server: string;
  json: boolean;
}

/** A command's spec, with the option names checked against OPTIONS. */
export const defineCommand = <K extends OptionName>(spec: CommandSpec<K>): CommandSpec =>
  spec as unknown as CommandSpec;

export function helpOf(c: CommandSpec): string {
  return [
    `usage: batchlight ${c.name}${c.usage ? ` ${c.usage}` : ''}`,
    '',
    ...c.description.split('\n').map((l) => `  ${l}`),
    '',
    GLOBAL_HELP,
  ].join('\n');
}

export const GLOBAL_HELP = `global: --server URL   (env BATCHLIGHT_SERVER, default http://127.0.0.1:4700)
        --token T      (env BATCHLIGHT_TOKEN)
        --json         machine-readable output on stdout (errors: one JSON line on stderr)
        -h, --help     this help`;

/**
 * Where the command's words end in `argv`: the positionals, read with every option known so an
 * option's value is never taken for a word. Used only to pick the command; `parseCommandArgs`
 * then reads `argv` strictly against that command.
 */
export function commandWords(argv: string[]): { words: string[]; help: boolean; json: boolean } {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true });
  return { words: positionals, help: values.help === true, json: values.json === true };
}

/**
 * Reads `argv` against `command` (strict): an option it does not take, a missing argument or one
 * too many is a CliError naming it. `words` is how many positionals name the command.
 */
export function parseCommandArgs(
  command: CommandSpec,
  argv: string[],
  words: number,
): { values: Values<OptionName>; args: string[] } {
  const options = Object.fromEntries(
    [...GLOBAL_OPTIONS, ...command.options].map((name) => [name, OPTIONS[name]]),
  ) as typeof OPTIONS;
  const see = `(see batchlight ${command.name} --help)`;
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; tokens: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    // Node's own message goes on to a suggestion whose quotes do not close: say it in our words.
    if (unknown) throw new CliError(`Unknown option '${unknown[1]}' for ${command.name} ${see}`);
    throw new CliError(`${message.split(/\.\s|\n/)[0]!.replace(/\.$/, '')} ${see}`);
  }
  const positionals = parsed.tokens.filter((t) => t.kind === 'positional');
  const args = positionals.slice(words).map((t) => t.value);
  const wanted = command.args ?? [];
  const missing = wanted[args.length];
  if (missing) throw new CliError(`${command.name}: missing ${missing} ${see}`);
  if (command.rest && args.length === wanted.length)
    throw new CliError(`${command.name}: missing ${command.rest} ${see}`);
  if (!command.rest && args.length > wanted.length) {
    const stray = positionals[words + wanted.length]!;
    const before = parsed.tokens[parsed.tokens.indexOf(stray) - 1];
    const hint =
      (before?.kind === 'option' && STRAY_HINTS[before.name as OptionName]) ||
      (wanted.length ? `${command.name} takes ${wanted.join(' ')}` : `${command.name} takes no arguments`);
    throw new CliError(`${command.name}: unexpected argument '${stray.value}' (${hint})`);
  }
  return { values: parsed.values as Values<OptionName>, args };
}

/** A whole number given as `--key`, checked against the API's schema of that field before anything is sent. */
export function wholeNumber(key: string, raw: string | undefined, field: z.ZodType): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new CliError(`--${key}: expected a whole number, got "${raw}"`);
  checked(key, n, field);
  return n;
}

/** A number ≥ 0 given as `--key` (a price), checked against the API's schema of that field. */
export function decimalNumber(key: string, raw: string | undefined, field: z.ZodType): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new CliError(`--${key}: expected a number ≥ 0, got "${raw}"`);
  checked(key, n, field);
  return n;
}

function checked(key: string, n: number, field: z.ZodType) {
  const r = field.safeParse(n);
  if (!r.success) throw new CliError(`--${key}: ${r.error.issues[0]!.message}, got ${n}`);
}

/** `a or b`, `a, b or c`. */
export const alternatives = (options: readonly string[]) =>
  options.length > 1 ? `${options.slice(0, -1).join(', ')} or ${options.at(-1)}` : (options[0] ?? '');

/** One of the values of an API enum, given as `--key`. */
export function oneOf<T extends string>(key: string, raw: string | undefined, options: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(options as readonly string[]).includes(raw)) throw new CliError(`--${key}: ${alternatives(options)}`);
  return raw as T;
}

export function jsonObject(key: string, raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`--${key}: expected a JSON object, e.g. '{"temperature":0.2}'`);
  return parsed as Record<string, unknown>;
}
