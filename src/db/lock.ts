import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// PGlite's data folder must never be opened by two processes at once (it would be corrupted).
// A pid lock file beside the folder makes the second process refuse with a clear message.

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The embedded database at ${dataDir} is in use by another Recur process (pid ${pid}).\n` +
        `Stop that process first, or use the running server's API instead (for keys: POST /v1/api_keys with an admin key).\n` +
        `To run several processes at once, use PostgreSQL: set DATABASE_URL=postgres://…`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws DataDirLockedError; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const abs = resolve(dataDir);
  mkdirSync(dirname(abs), { recursive: true });
  const file = join(dirname(abs), `${abs.split('/').pop()}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(existsSync(file) ? readFileSync(file, 'utf8').trim() : NaN);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new DataDirLockedError(abs, pid);
      // A stale lock from a crashed process: remove it and try once more.
      try {
        unlinkSync(file);
      } catch {
        /* raced with another cleaner */
      }
    }
  }
  throw new Error(`Could not lock ${abs}`);
}
