// Idempotent creation. A client whose create mutation failed on the wire cannot tell whether it
// happened; sending it again under the same `requestId` is safe: within 24 h the same id returns
// what the first call created. The key is written in the transaction that creates the row, so a
// crash leaves both or neither; concurrent duplicates meet at the key's primary key, and the
// loser reads the winner's result.
import { createHash, createHmac } from 'node:crypto';
import type { Prisma } from '@batchlight/db';
import { TRPCError } from '@trpc/server';
import type { Context } from './context.js';

export const KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** Writes the key inside the caller's transaction, naming the row it creates. */
export type Claim = (tx: Prisma.TransactionClient, resultId: string) => Promise<void>;

/** JSON with object keys sorted, so that the same input hashes the same however it was built. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function conflict(message: string): never {
  throw new TRPCError({
    code: 'CONFLICT',
    message: `requestId: ${message}`,
    cause: Object.assign(new Error(message), { field: 'requestId' }),
  });
}

/**
 * Runs `create` once per requestId. `create` must call `claim(tx, id)` inside the transaction
 * that creates the row (without a requestId, claim does nothing); `load` reads a created row
 * back by its id, for a repeated call.
 */
export async function idempotent<I extends { requestId?: string }, T>(
  ctx: Context,
  procedure: string,
  input: I,
  create: (claim: Claim) => Promise<T>,
  load: (resultId: string) => Promise<T | null>,
): Promise<T> {
  const key = input.requestId;
  if (key === undefined) return create(async () => {});
  const { requestId: _, ...rest } = input;
  // Keyed with the server's secret when it has one: models.create's input may hold an API key,
  // and a plain hash of a short key could be searched for.
  const inputHash = (ctx.secretKey ? createHmac('sha256', ctx.secretKey) : createHash('sha256'))
    .update(canonical(rest))
    .digest('hex');
  const prisma = ctx.db.prisma;

  const earlier = async (): Promise<T | null> => {
    const row = await prisma.idempotencyKey.findUnique({ where: { key } });
    if (!row) return null;
    if (row.procedure !== procedure) conflict(`already used for ${row.procedure}; choose a new id for each request`);
    if (row.inputHash !== inputHash)
      conflict('already used for a request with other input; choose a new id for each request');
    const result = await load(row.resultId);
    if (!result) conflict(`what it created (${row.resultId}) no longer exists`);
    return result;
  };

  // Expired keys go as new ones come (an index on createdAt keeps this cheap).
  await prisma.idempotencyKey.deleteMany({ where: { createdAt: { lt: new Date(Date.now() - KEY_TTL_MS) } } });
  const first = await earlier();
  if (first) return first;
  try {
    return await create((tx, resultId) =>
      tx.idempotencyKey.create({ data: { key, procedure, inputHash, resultId } }).then(() => undefined),
    );
  } catch (err) {
    // A concurrent call with the same id committed first (its key made ours fail, or its row made
    // a unique rule of ours fail): answer as it did.
    const winner = await earlier();
    if (winner) return winner;
    throw err;
  }
}
