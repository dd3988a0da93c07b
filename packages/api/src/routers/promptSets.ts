import { randomUUID } from 'node:crypto';
import { bulkInsert, type PromptRow } from '@batchlight/db';
import { promptText } from '@batchlight/engine';
import { scorerList } from '@batchlight/scoring';
import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { Context } from '../context.js';
import { type Claim, idempotent } from '../idempotency.js';
import { type ParsedPrompt, parsePromptFile } from '../prompt-import.js';
import { id, promptInput, requestId } from '../schemas.js';
import { badRequest, conflict, notFound, publicProcedure } from '../trpc.js';

const name = z.string().trim().min(1, 'required').max(200);
const fileInput = z.object({ format: z.enum(['jsonl', 'csv']), content: z.string().max(100_000_000) });
/** A prompt to store: a parsed file's (its line is not kept) or one given as it is. */
type NewPrompt = Omit<ParsedPrompt, 'line'>;
const findSet = (ctx: Context) => (id: string) => ctx.db.prisma.promptSet.findUnique({ where: { id } });

/** The rows of a new set, made one by one as bulkInsert asks for them (not all 100,000 at once). */
function* promptRows(promptSetId: string, prompts: NewPrompt[]): Generator<PromptRow> {
  for (let index = 0; index < prompts.length; index++) {
    const p = prompts[index]!;
    yield {
      id: randomUUID(),
      promptSetId,
      index,
      input: p.input,
      expected: p.expected ?? null,
      metadata: p.metadata ?? null,
      asserts: p.asserts ?? null,
    };
  }
}

async function createSet(ctx: Context, setName: string, prompts: NewPrompt[], claim: Claim) {
  const id = randomUUID();
  // One transaction: the set, every prompt and the request's key, or nothing.
  return ctx.db.prisma.$transaction(
    async (tx) => {
      await claim(tx, id);
      const created = await tx.promptSet.create({ data: { id, name: setName, promptCount: prompts.length } });
      await bulkInsert(tx, ctx.db.provider, 'Prompt', promptRows(id, prompts));
      return created;
    },
    { timeout: 300_000, maxWait: 30_000 },
  );
}

/** At most BATCHLIGHT_MAX_PROMPTS_PER_SET prompts in one set. */
function checkCount(ctx: Context, field: 'prompts' | 'content', count: number) {
  const max = ctx.limits.promptsPerSet;
  if (count <= max) return;
  const how = field === 'content' ? '; split the file and import each part as its own set' : '';
  badRequest(field, `${count} prompts; a set holds at most ${max} (BATCHLIGHT_MAX_PROMPTS_PER_SET)${how}`);
}

function fileErrors(errors: Array<{ line: number; message: string }>): never {
  const first = errors
    .slice(0, 5)
    .map((e) => `line ${e.line}: ${e.message}`)
    .join('; ');
  throw new TRPCError({
    code: 'BAD_REQUEST',
    message: `content: ${errors.length} error(s): ${first}`,
    cause: Object.assign(new Error(first), { field: 'content', lines: errors }),
  });
}

export const promptSetsRouter = {
  list: publicProcedure.query(({ ctx }) =>
    ctx.db.prisma.promptSet.findMany({
      orderBy: { createdAt: 'desc' },
      select: { id: true, name: true, promptCount: true, createdAt: true },
    }),
  ),

  get: publicProcedure
    .input(
      z.object({
        id,
        cursor: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(1000).default(100),
      }),
    )
    .query(async ({ ctx, input }) => {
      const set = await ctx.db.prisma.promptSet.findUnique({ where: { id: input.id } });
      if (!set) notFound('id', `prompt set ${input.id}`);
      const prompts = await ctx.db.prisma.prompt.findMany({
        where: { promptSetId: set.id, index: { gte: input.cursor } },
        orderBy: { index: 'asc' },
        take: input.limit,
      });
      return {
        ...set,
        prompts: prompts.map((p) => ({
          index: p.index,
          input: p.input,
          text: promptText(p.input),
          expected: p.expected,
          metadata: p.metadata,
          asserts: p.asserts,
        })),
        nextCursor: prompts.length === input.limit ? input.cursor + input.limit : null,
      };
    }),

  create: publicProcedure
    .input(
      z.object({
        name,
        prompts: z
          .array(
            z.object({
              input: promptInput,
              expected: z.string().max(200_000).nullable().optional(),
              metadata: z.record(z.string(), z.unknown()).nullable().optional(),
              /** This prompt's own scorers; a judge names a registered model by id or name. */
              asserts: scorerList.nullable().optional(),
            }),
          )
          .min(1, 'add at least one prompt'),
        requestId,
      }),
    )
    .mutation(({ ctx, input }) => {
      checkCount(ctx, 'prompts', input.prompts.length);
      return idempotent(
        ctx,
        'promptSets.create',
        input,
        (claim) => createSet(ctx, input.name, input.prompts, claim),
        findSet(ctx),
      );
    }),

  /**
   * Deletes a set and its prompts. Refused (CONFLICT naming `id`) while a run uses it: runs keep
   * their set, whatever their status; the message names the latest such run.
   */
  delete: publicProcedure.input(z.object({ id })).mutation(async ({ ctx, input }) =>
    ctx.db.prisma.$transaction(async (tx) => {
      const set = await tx.promptSet.findUnique({ where: { id: input.id } });
      if (!set) notFound('id', `prompt set ${input.id}`);
      const runs = await tx.run.count({ where: { promptSetId: set.id } });
      if (runs) {
        const run = await tx.run.findFirstOrThrow({
          where: { promptSetId: set.id },
          orderBy: { createdAt: 'desc' },
          select: { id: true, name: true, status: true },
        });
        const label = run.name ? `"${run.name}"` : run.id.slice(-8);
        const others = runs > 1 ? ` and ${runs - 1} other run(s)` : '';
        conflict('id', `run ${label} (${run.status})${others} uses this prompt set; delete the runs first`);
      }
      // Its prompts go with it (onDelete: Cascade).
      await tx.promptSet.delete({ where: { id: set.id } });
      return { id: set.id, name: set.name, promptCount: set.promptCount };
    }),
  ),

  /** Parses a file without saving it: the first prompts (each with its file line) and every error, by line. */
  preview: publicProcedure.input(fileInput).mutation(({ input }) => {
    const r = parsePromptFile(input.format, input.content);
    return { count: r.prompts.length, prompts: r.prompts.slice(0, 20), errors: r.errors };
  }),

  import: publicProcedure.input(fileInput.extend({ name, requestId })).mutation(({ ctx, input }) =>
    idempotent(
      ctx,
      'promptSets.import',
      input,
      (claim) => {
        const r = parsePromptFile(input.format, input.content);
        if (r.errors.length) fileErrors(r.errors);
        checkCount(ctx, 'content', r.prompts.length);
        return createSet(ctx, input.name, r.prompts, claim);
      },
      findSet(ctx),
    ),
  ),
} satisfies TRPCRouterRecord;
