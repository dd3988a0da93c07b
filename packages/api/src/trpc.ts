import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { EngineInputError, NotFoundError, ShuttingDownError } from '@batchlight/engine';
import type { Context } from './context.js';
import { transformer } from './transformer.js';

/** Field errors travel in `error.data.fieldErrors` ({ field: [messages] }) so forms can place them. */
const t = initTRPC.context<Context>().create({
  transformer,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let fieldErrors: Record<string, string[]> | null = null;
    if (cause instanceof ZodError) {
      fieldErrors = {};
      for (const issue of cause.issues) {
        const key = issue.path.join('.') || '_';
        (fieldErrors[key] ??= []).push(issue.message);
      }
    } else if ((cause as { field?: unknown } | undefined)?.field) {
      // EngineInputError, or the Error with a `field` that badRequest() puts under a TRPCError.
      const c = cause as unknown as { field: string; message: string };
      fieldErrors = { [c.field]: [c.message] };
    }
    // Zod's own message is a JSON dump; say "field: problem" instead, one line for every client.
    const message =
      cause instanceof ZodError && fieldErrors
        ? Object.entries(fieldErrors).map(([k, v]) => `${k}: ${v.join(', ')}`).join('; ')
        : shape.message;
    return { ...shape, message, data: { ...shape.data, stack: undefined, fieldErrors } };
  },
});

/** Engine errors (reports' too: they subclass these) become typed tRPC errors. */
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof EngineInputError) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: `${cause.field}: ${cause.message}`, cause });
    }
    if (cause instanceof NotFoundError) {
      throw new TRPCError({ code: 'NOT_FOUND', message: cause.message, cause });
    }
    if (cause instanceof ShuttingDownError) {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: cause.message, cause });
    }
  }
  return result;
});

export const createTRPCRouter = t.router;
export const publicProcedure = t.procedure.use(errorMapping);
export const createCallerFactory = t.createCallerFactory;

export function badRequest(field: string, message: string): never {
  throw new TRPCError({ code: 'BAD_REQUEST', message: `${field}: ${message}`, cause: Object.assign(new Error(message), { field }) });
}

export function notFound(what: string): never {
  throw new TRPCError({ code: 'NOT_FOUND', message: `${what} not found` });
}
