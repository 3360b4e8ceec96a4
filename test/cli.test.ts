import { beforeAll, describe, expect, it } from 'vitest';
import { cliFolder } from './helpers/cli.js';
import { openMigratedDataDir } from './helpers/db.js';

// The `recur` command as a user runs it, on the embedded database in a fresh data folder. The clock
// and serve commands have their own files (cli-clock, cli-serve), so the three run side by side.

const { dataDir, recur } = cliFolder();

describe('recur CLI', () => {
  // The folder starts migrated (the CLI migrating a fresh folder is test/readme-promises.test.ts's).
  beforeAll(async () => (await openMigratedDataDir(dataDir)).close());

  it('prints help', () => {
    const r = recur('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('keys create --name NAME');
    expect(r.stdout).toContain('clock advance ID --to TIME');
  }, 60_000);

  it('migrates, seeds idempotently, manages keys and lists customers', () => {
    expect(recur('migrate').stdout).toBe('Database is up to date.\n');
    expect(recur('seed').stdout).toMatch(/^Seeded \d+ catalog objects\.\n$/);
    expect(recur('seed').stdout).toBe('Catalog already seeded; nothing changed.\n');

    const created = recur('keys', 'create', '--name', 'ci', '--scope', 'read');
    expect(created.code).toBe(0);
    // The secret alone on one line of stdout, so scripts can capture it.
    expect(created.stdout).toMatch(/^sk_[A-Za-z0-9_-]{43}\n$/);
    const list = recur('keys', 'list');
    expect(list.stdout).toMatch(/^ID\s+NAME\s+SCOPE\s+KEY\s+CREATED\s+REVOKED\n/);
    expect(list.stdout).toContain(`sk_…${created.stdout.trim().slice(-4)}`);
    expect(list.stdout).not.toContain(created.stdout.trim());
    const id = /^(key_\S+)\s+ci\s+read/m.exec(list.stdout)![1]!;
    expect(recur('keys', 'revoke', id).stdout).toBe(`Revoked ${id} (ci).\n`);
    expect(recur('keys', 'list').stdout).toMatch(new RegExp(`${id}\\s+ci\\s+read\\s+\\S+\\s+\\S+\\s+\\d{4}-`));

    const bad = recur('keys', 'create', '--name', 'x', '--scope', 'root');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scope must be read, write or admin');
    expect(recur('customers', 'list').stdout).toMatch(/^ID\s+EMAIL\s+NAME\s+BALANCE\s+CREATED\n-+/);
  }, 180_000);
});
