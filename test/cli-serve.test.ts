import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliFolder } from './helpers/cli.js';

// `recur serve` as a user runs it, on the embedded database in a fresh (unmigrated) data folder.

const { env } = cliFolder('recur-serve-');

describe('recur serve', () => {
  it('serves with the seeded catalog and a first admin key, refuses a second process on the folder, stops on SIGTERM', async () => {
    const serveEnv = { ...env, PORT: '0', HOST: '127.0.0.1', RECUR_LOG_LEVEL: 'info' };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], { env: serveEnv });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const until = Date.now() + 60_000;
    while (!/Server listening at http:\/\/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1];
    const key = /(sk_[A-Za-z0-9_-]{43})/.exec(out)![1]!;
    expect(out).toContain('It is shown only this once');
    const prices = await fetch(`http://127.0.0.1:${port}/v1/prices?lookup_keys[]=elite_monthly&lookup_keys[]=course_onetime`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await prices.json()) as { data: { lookup_key: string; unit_amount: number }[] };
    expect(body.data.map((p) => [p.lookup_key, p.unit_amount]).sort()).toEqual([
      ['course_onetime', 99700],
      ['elite_monthly', 500000],
    ]);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    const second = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'list'], { env: serveEnv, encoding: 'utf8' });
    expect(second.status).toBe(2);
    expect(second.stderr).toContain('is in use by another Recur process');

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 180_000);
});
