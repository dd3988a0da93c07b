// DATABASE_URL read through the one schema the server, `pnpm db:*` and the CLI share.
import { describe, expect, it } from 'vitest';
import { databaseEnv, databaseUrlFrom, databaseUrlSetting, parseDbUrl } from '../src/settings.js';

describe('the DATABASE_URL setting', () => {
  it('is the default when unset or empty, and the URL as given otherwise', () => {
    expect(databaseUrlFrom({})).toBe('file:./data/batchlight.db');
    expect(databaseUrlFrom({ DATABASE_URL: '' })).toBe('file:./data/batchlight.db');
    expect(databaseUrlFrom({ DATABASE_URL: 'postgresql://u:p@h/db' })).toBe('postgresql://u:p@h/db');
    expect(databaseUrlFrom({ DATABASE_URL: 'file:///abs/x.db' })).toBe('file:///abs/x.db');
    expect(databaseUrlSetting.parse(undefined)).toBeUndefined();
  });

  it('refuses anything but SQLite and PostgreSQL, naming the setting', () => {
    expect(() => databaseUrlFrom({ DATABASE_URL: 'mysql://x' })).toThrow(
      /^DATABASE_URL: must start with file: \(SQLite\) or postgresql:\/\/ \(PostgreSQL\)$/,
    );
    expect(() => databaseUrlFrom({ DATABASE_URL: 'file:' })).toThrow(/^DATABASE_URL: a file: URL needs a path/);
    expect(databaseEnv.safeParse({ DATABASE_URL: 'data.db' }).success).toBe(false);
  });

  it('resolves a relative file from the directory it is given', () => {
    expect(parseDbUrl('file:./x.db', '/home/me')).toEqual({
      provider: 'sqlite',
      url: 'file:/home/me/x.db',
      file: '/home/me/x.db',
    });
    expect(parseDbUrl('file:///abs/x.db', '/home/me').file).toBe('/abs/x.db');
  });
});
