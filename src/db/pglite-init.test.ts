import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { usingPostgres } from '../../test/helpers/db.js';

// A new PGlite data folder is made in a child process (src/db/pglite.ts): the process that opens it
// does not keep initdb's ~850 MB of WebAssembly memory. Measured in a process of its own, as a
// server would be: before this, opening a new folder left the process at 850–890 MB RSS.

const run = promisify(execFile);
const script = `
  import { openPglite } from './src/db/pglite.ts';
  const db = await openPglite(process.env.DIR);
  const { rows } = await db.query('SELECT 41 + 1 AS n');
  console.log(JSON.stringify({ n: rows[0].n, rssMb: Math.round(process.memoryUsage().rss / 1e6) }));
  await db.close();`;
const open = async (dir: string) => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, DIR: dir } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { n: number; rssMb: number };
};

describe.skipIf(usingPostgres)('a new PGlite data folder', () => {
  it('is made in a child process, so the process that opens it stays small; reopening works', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'recur-init-')), 'data');
    try {
      const first = await open(dir);
      expect(first.n).toBe(42);
      expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
      expect(first.rssMb).toBeLessThan(650);
      const again = await open(dir);
      expect(again.n).toBe(42);
      expect(again.rssMb).toBeLessThan(650);
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  }, 60_000);
});
