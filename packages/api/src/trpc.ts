import { randomUUID } from 'node:crypto';
import { ConflictError, EngineInputError, NotFoundError, ShuttingDownError } from '@batchlight/engine';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { Context } from './context.js';
import { checkInput } from './input-check.js';
import { transformer } from './transformer.js';

/** What a procedure may declare: `fields` renames an engine error's field to the input's name. */
export interface Meta {
  fields?: Record<string, string>;
}

const errorIds = new WeakMap<object, string>();
/** The id a 500 is answered with; the server logs its detail under the same id. */
export function errorIdOf(error: object): string {
  let id = errorIds.get(error);
  if (!id) {
    id = randomUUID();
    errorIds.set(error, id);
  }
  return id;
}

const MiB = 1024 * 1024;
/** A body over the limit: what to do instead, for the prompt import above all. */
function bodyTooLarge(path: string | undefined, limitBytes: number | undefined) {
  const limit = limitBytes ? (limitBytes % MiB ? `${limitBytes} bytes` : `${limitBytes / MiB} MiB`) : 'its limit';
  const importing = path === 'promptSets.import' || path === 'promptSets.preview';
  const field = importing ? 'content' : 'input';
  const how = importing
    ? '; split the file into parts under that size and import each (`batchlight prompts import part-1.jsonl`), ' +
      'or raise BATCHLIGHT_MAX_BODY_BYTES on the server'
    : '';
  return {
    field,
    message: `the request body is over the server's limit of ${limit} (BATCHLIGHT_MAX_BODY_BYTES)${how}`,
  };
}

/** Field errors travel in `error.data.fieldErrors` ({ field: [messages] }) so forms can place them. */
const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer,
    errorFormatter({ shape, error, path, ctx }) {
      const cause = error.cause;
      let fieldErrors: Record<string, string[]> | null = null;
      let message = shape.message;
      if (cause instanceof ZodError) {
        fieldErrors = {};
        for (const issue of cause.issues) {
          const key = issue.path.join('.') || 'input';
          fieldErrors[key] = [...(fieldErrors[key] ?? []), issue.message];
        }
        // Zod's own message is a JSON dump; say "field: problem" instead, one line for every client.
        message = Object.entries(fieldErrors)
          .map(([k, v]) => `${k}: ${v.join(', ')}`)
          .join('; ');
      } else if ((cause as { field?: unknown } | undefined)?.field) {
        // Engine errors, and the Error with a `field` that badRequest() puts under a TRPCError.
        const c = cause as unknown as { field: string; message: string };
        fieldErrors = { [c.field]: [c.message] };
      } else if (error.code === 'PAYLOAD_TOO_LARGE') {
        const { field, message: m } = bodyTooLarge(path, ctx?.limits.bodyBytes);
        fieldErrors = { [field]: [m] };
        message = `${field}: ${m}`;
      } else if (error.code === 'INTERNAL_SERVER_ERROR') {
        // Never a library's text (Prisma, a stack overflow…): the log has it under this id.
        message = `internal error (id ${errorIdOf(error)}); the server log has the details`;
      }
      return { ...shape, message, data: { ...shape.data, stack: undefined, fieldErrors } };
    },
  });

/** Engine errors (reports' too: they subclass these) become typed tRPC errors naming the input's field. */
const errorMapping = t.middleware(async ({ next, meta }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof EngineInputError || cause instanceof NotFoundError || cause instanceof ConflictError) {
      const field = meta?.fields?.[cause.field] ?? cause.field;
      const code =
        cause instanceof EngineInputError ? 'BAD_REQUEST' : cause instanceof NotFoundError ? 'NOT_FOUND' : 'CONFLICT';
      throw fieldError(code, field, cause.message);
    }
    if (cause instanceof ShuttingDownError) {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: cause.message, cause });
    }
  }
  return result;
});

/** Each call's raw input keeps the one rule of input-check.ts before its schema parses it. */
const inputRule = t.middleware(async ({ getRawInput, next }) => {
  checkInput(await getRawInput());
  return next();
});

export const createTRPCRouter = t.router;
export const publicProcedure = t.procedure.use(errorMapping).use(inputRule);
export const createCallerFactory = t.createCallerFactory;

/** An error naming its field: the errorFormatter puts it in `fieldErrors`. */
function fieldError(code: TRPCError['code'], field: string, message: string): TRPCError {
  return new TRPCError({ code, message: `${field}: ${message}`, cause: Object.assign(new Error(message), { field }) });
}

export function badRequest(field: string, message: string): never {
  throw fieldError('BAD_REQUEST', field, message);
}

/** The thing `field` names is in a state that forbids the call (409 CONFLICT). */
export function conflict(field: string, message: string): never {
  throw fieldError('CONFLICT', field, message);
}

/** The thing a procedure addresses by `field` does not exist. */
export function notFound(field: string, what: string): never {
  throw fieldError('NOT_FOUND', field, `${what} not found`);
}
