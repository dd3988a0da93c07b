// Derives packages/db/prisma/postgres/schema.prisma from the one source schema (prisma/schema.prisma).
// `--check` fails when the committed copy is out of date (run in CI through the build).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../prisma/', import.meta.url));
const source = readFileSync(`${root}schema.prisma`, 'utf8');

const derived = [
  '// GENERATED from prisma/schema.prisma by `pnpm db:schema`. Do not edit by hand.',
  source
    .replace(/^\/\/ The one source schema[\s\S]*?\n\n/m, '')
    .replace(/provider(\s*)= "sqlite"/, 'provider$1= "postgresql"')
    .replace('output              = "../src/generated/sqlite"', 'output              = "../../src/generated/postgres"'),
].join('\n');

if (!derived.includes('"postgresql"') || !derived.includes('generated/postgres')) {
  console.error('derive-postgres-schema: the source schema no longer has the expected provider/output lines');
  process.exit(1);
}
const target = `${root}postgres/schema.prisma`;
if (process.argv.includes('--check')) {
  if (!existsSync(target) || readFileSync(target, 'utf8') !== derived) {
    console.error(
      'packages/db/prisma/postgres/schema.prisma is out of sync with prisma/schema.prisma: run `pnpm db:schema`',
    );
    process.exit(1);
  }
  console.log('postgres schema in sync');
} else {
  mkdirSync(`${root}postgres`, { recursive: true });
  writeFileSync(target, derived);
  console.log('wrote packages/db/prisma/postgres/schema.prisma');
}
