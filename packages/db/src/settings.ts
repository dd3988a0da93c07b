// The database setting (DATABASE_URL) as a zod schema: the server's configuration composes it, and
// `pnpm db:migrate`, `pnpm db:studio` and `batchlight studio` read it through it, so its rule and
// its messages are written once. Light to load: zod and the URL helpers, no database driver.
import { z } from 'zod';
import { DEFAULT_DATABASE_URL, databaseUrlProblem } from './url.js';

export { DEFAULT_DATABASE_URL, parseDbUrl, redactDbUrl } from './url.js';

/** DATABASE_URL as given: a SQLite `file:` or a PostgreSQL URL; unset or empty is undefined. */
export const databaseUrlSetting = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .superRefine((url, ctx) => {
      const problem = databaseUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
);

/** The environment's database setting, unset being the default (`file:./data/batchlight.db`). */
export const databaseEnv = z.object({
  DATABASE_URL: databaseUrlSetting.transform((url) => url ?? DEFAULT_DATABASE_URL),
});

/** The database a program opens: DATABASE_URL or the default; a bad one throws `DATABASE_URL: problem`. */
export function databaseUrlFrom(env: NodeJS.ProcessEnv): string {
  const parsed = databaseEnv.safeParse(env);
  if (!parsed.success) throw new Error(`DATABASE_URL: ${parsed.error.issues[0]!.message}`);
  return parsed.data.DATABASE_URL;
}
