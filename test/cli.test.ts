import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { ManualClock } from '../src/core/time/index.js';
import { openPglite } from '../src/db/pglite.js';
import { createApiKey } from '../src/modules/api-keys/service.js';
import { createTestClock } from '../src/modules/test-clocks/service.js';
import { openMigratedDataDir } from './helpers/db.js';

// The `recur` command as a user runs it, on the embedded database in a fresh data folder.

const dir = mkdtempSync(join(tmpdir(), 'recur-cli-'));
const env = { ...process.env, RECUR_DATA_DIR: join(dir, 'data'), RECUR_LOG_LEVEL: 'warn', DATABASE_URL: '' };

function recur(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env, encoding: 'utf8', timeout: 110_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('recur CLI', () => {
  // The folder starts migrated (the CLI migrating a fresh folder is test/readme-promises.test.ts's).
  beforeAll(async () => (await openMigratedDataDir(join(dir, 'data'))).close());

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

  it('advances a test clock past the two-year bound of one API advance, by stepping', async () => {
    // The folder is free between commands: make a clock through the service, then let the CLI advance it.
    // With a customer on Community (9,700 a month) on it, so the CLI's advance runs real billing.
    let db = await openPglite(join(dir, 'data'));
    const clock = await createTestClock(db, new Date('2026-01-01T00:00:00Z'), { frozen_time: Date.parse('2026-01-01T00:00:00Z') / 1000, name: 'cli' });
    const { app } = await buildApp({ db, clock: new ManualClock('2026-01-01T00:00:00Z'), config: testConfig({ logLevel: 'warn' }) });
    const key = (await createApiKey(db, { name: 'cli-test', scope: 'admin' }, new Date('2026-01-01T00:00:00Z'))).secret;
    const call = async (url: string, payload: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${key}` } });
      expect(res.statusCode, res.body).toBe(200);
      return JSON.parse(res.body) as { id: string };
    };
    const customer = await call('/v1/customers', { email: 'cli@example.com', test_clock: clock.id });
    const pm = await call('/v1/payment_methods/pm_card_visa/attach', { customer: customer.id });
    await call(`/v1/customers/${customer.id}`, { invoice_settings: { default_payment_method: pm.id } });
    const price = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    const sub = await call('/v1/subscriptions', { customer: customer.id, items: [{ price }], trial_end: 'now' });
    await app.close();
    await db.close();

    // Two and a half years: one API advance covers two months here (two intervals of the monthly subscription).
    const r = recur('clock', 'advance', clock.id, '--to', '2028-07-01T00:00:00Z');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Test clock ${clock.id} is at 2028-07-01T00:00:00.000Z (ready).\n`);
    // Jan 1 2026 (the first invoice) and 30 renewals, Feb 1 2026 … Jul 1 2028; the last one, created at the
    // clock's final instant, is still a draft (finalized an hour later). 30 × 9,700 = 291,000 paid.
    db = await openPglite(join(dir, 'data'));
    const { rows } = await db.query<{ status: string; n: number; paid: number }>(
      `SELECT status, count(*)::int AS n, sum(amount_paid)::bigint AS paid FROM invoices WHERE subscription = $1 GROUP BY status ORDER BY status`,
      [sub.id],
    );
    await db.close();
    expect(rows).toEqual([
      { status: 'draft', n: 1, paid: 0 },
      { status: 'paid', n: 30, paid: 291_000 },
    ]);
    const far = recur('clock', 'advance', clock.id, '--to', '9999-01-01T00:00:00Z');
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('--to must be no later than 9900-01-01');
  }, 120_000);

  it('serves with the seeded catalog and a first admin key, refuses a second process on the folder, stops on SIGTERM', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'recur-serve-'));
    const serveEnv = { ...env, RECUR_DATA_DIR: join(fresh, 'data'), PORT: '0', HOST: '127.0.0.1', RECUR_LOG_LEVEL: 'info' };
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
