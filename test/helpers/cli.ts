import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The `recur` command as a user runs it (through tsx, on the sources), on the embedded database in a
// fresh data folder per test file.

export function cliFolder(prefix = 'recur-cli-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...process.env, RECUR_DATA_DIR: join(dir, 'data'), RECUR_LOG_LEVEL: 'warn', DATABASE_URL: '' };
  const recur = (...args: string[]) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env, encoding: 'utf8', timeout: 110_000 });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  return { dir, dataDir: join(dir, 'data'), env, recur };
}
