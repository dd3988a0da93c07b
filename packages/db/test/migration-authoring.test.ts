import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../scripts/migration.mjs', import.meta.url));

describe('pnpm db:migration', () => {
  it('finds the committed migrations of both providers in sync with the schema (WASM engine, shadow databases)', () => {
    const out = execFileSync(process.execPath, [script, 'sync_check'], { encoding: 'utf8' });
    expect(out).toContain('No schema changes');
  });

  it('refuses a bad migration name', () => {
    expect(() => execFileSync(process.execPath, [script, 'Bad-Name'], { encoding: 'utf8', stdio: 'pipe' })).toThrow(
      /lowercase letters/,
    );
  });
});
