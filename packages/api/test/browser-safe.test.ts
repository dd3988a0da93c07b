// The entries the monitor loads in a browser (`@batchlight/api/schemas`, `/stats`, `/outcome`) must import
// nothing that needs Node or the server: no `node:` modules, no database, no engine runtime. This
// walks their import graph in the built files, as a bundler would, and fails on anything else.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
/** Packages a browser entry may reach, besides the modules of ours it leads to. */
const ALLOWED_PACKAGES = ['zod'];

function importsOf(file: string): string[] {
  const code = readFileSync(file, 'utf8');
  const from = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm;
  const bare = /^\s*import\s*['"]([^'"]+)['"]/gm;
  return [...code.matchAll(from), ...code.matchAll(bare)].map((m) => m[1]!);
}

/** Every module `entry` reaches: our files by path, other packages by name (not walked). */
function graph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) walk(fileURLToPath(new URL(spec, pathToFileURL(file))));
      else if (spec.startsWith('@batchlight/')) walk(createRequire(file).resolve(spec));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  walk(entry);
  return { files: [...files], packages: [...packages] };
}

describe('browser entries of @batchlight/api', () => {
  it.each(['@batchlight/api/schemas', '@batchlight/api/stats', '@batchlight/api/outcome'])(
    '%s imports only zod and pure modules',
    (entry) => {
      const { files, packages } = graph(require.resolve(entry));
      expect(packages.filter((p) => !ALLOWED_PACKAGES.includes(p))).toEqual([]);
      // The LLM package's defaults are a module without imports, there for these schemas.
      const known = files.filter((f) => !f.endsWith('/llm/dist/defaults.js'));
      for (const f of known) expect(f).not.toMatch(/\/(db|llm)\/dist\/|\/engine\/dist\/index\.js$/);
    },
  );

  it('would catch a Node built-in', () => {
    const { packages } = graph(require.resolve('@batchlight/api'));
    expect(packages).toContain('node:crypto');
  });
});
