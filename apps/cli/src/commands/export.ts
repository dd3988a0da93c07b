// `batchlight export`: every item of a run as CSV or JSONL, streamed in constant memory.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { alternatives, defineCommand, oneOf } from '../args.js';
import { CliError, EXIT } from '../errors.js';

const FORMATS = ['csv', 'jsonl'] as const;

export const exportCommand = defineCommand({
  name: 'export',
  usage: '<runId> --format csv|jsonl [-o FILE]',
  description: 'stream every item (to stdout without -o), in constant memory',
  options: ['format', 'output'],
  args: ['<runId>'],
  async run(ctx, v, [runId]) {
    const format = oneOf('format', v.format, FORMATS);
    if (!format) throw new CliError(`--format: ${alternatives(FORMATS)}`);
    const output = v.output;
    const stream = await ctx.client.runs.export.query({ runId: runId!, format });
    const { bytes, broken } = await writeChunks(stream, output);
    if (broken && (broken as NodeJS.ErrnoException).code === 'EPIPE') return EXIT.ok; // `| head`: the reader had enough
    if (broken) throw new CliError(`${output ?? 'stdout'}: ${broken.message}`, EXIT.server);
    if (output && !ctx.json) console.error(`wrote ${output} (${bytes} characters)`);
    if (output && ctx.json) console.log(JSON.stringify({ runId, format, file: output, characters: bytes }));
    return EXIT.ok;
  },
});

/**
 * Writes the chunks of `runs.export` (httpBatchStreamLink) as they come, to stdout or a file,
 * honouring back-pressure. The file is opened at the first chunk and removed if the export fails,
 * so a failed export leaves nothing behind. A broken stdout (a closed pipe) ends the writing.
 */
async function writeChunks(
  stream: AsyncIterable<string>,
  output: string | undefined,
): Promise<{ bytes: number; broken: Error | null }> {
  let out: NodeJS.WritableStream | null = null;
  let file: WriteStream | null = null;
  let broken: Error | null = null;
  const onError = (err: Error) => {
    broken = err;
  };
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      if (!out) {
        if (output) file = createWriteStream(output);
        out = file ?? process.stdout;
        out.on('error', onError);
      }
      if (broken) break;
      bytes += chunk.length;
      if (!out.write(chunk)) await drained(out);
    }
    if (!out && output) file = createWriteStream(output); // an empty export still makes its file
    if (file) {
      const f = file;
      await new Promise<void>((resolve, reject) => f.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  } catch (err) {
    if (file && output) {
      file.destroy();
      await rm(output, { force: true });
    }
    throw err;
  }
  return { bytes, broken };
}

function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done).on('error', done);
  });
}
