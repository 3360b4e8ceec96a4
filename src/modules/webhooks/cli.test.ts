import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMigratedDataDir } from '../../../test/helpers/db.js';

// `recur webhooks replay ID | --failed`, as an operator runs it, on an embedded database.

const dir = mkdtempSync(join(tmpdir(), 'recur-webhooks-cli-'));
const dataDir = join(dir, 'data');
const env = { ...process.env, RECUR_DATA_DIR: dataDir, RECUR_LOG_LEVEL: 'warn', DATABASE_URL: '', STRIPE_SECRET_KEY: '', PAYPAL_CLIENT_ID: '' };

function recur(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('recur webhooks replay', () => {
  it('replays failed and dead-lettered events, or one by id', async () => {
    const db = await openMigratedDataDir(dataDir);
    const now = new Date();
    for (const [id, status] of [
      ['whin_cli_failed', 'failed'],
      ['whin_cli_dead', 'dead'],
      ['whin_cli_done', 'processed'],
    ] as const) {
      await db.query(
        `INSERT INTO webhook_inbox (id, source, event_id, type, payload, status, attempts, next_attempt_at, received_at, last_error)
         VALUES ($1, 'stripe', $2, 'issuing_card.created', $3, $4, 2, $5, $5, 'boom')`,
        [id, `evt_${id}`, JSON.stringify({ id: `evt_${id}`, type: 'issuing_card.created', data: { object: { id: 'ic_1' } } }), status, new Date(now.getTime() + 3600_000)],
      );
    }
    await db.close();

    const all = recur('webhooks', 'replay', '--failed');
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^ID\s+EVENT\s+TYPE\s+STATUS\s+RESULT\s+ERROR\n/);
    expect(all.stdout).toMatch(/whin_cli_dead\s+evt_whin_cli_dead\s+issuing_card\.created\s+processed\s+ignored/);
    expect(all.stdout).toMatch(/whin_cli_failed\s+evt_whin_cli_failed\s+issuing_card\.created\s+processed\s+ignored/);
    expect(all.stdout).not.toContain('whin_cli_done');

    const one = recur('webhooks', 'replay', 'evt_whin_cli_done');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/whin_cli_done\s+evt_whin_cli_done\s+issuing_card\.created\s+processed\s+ignored/);

    const missing = recur('webhooks', 'replay', 'whin_nope');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('No inbound webhook event whin_nope');
    expect(recur('webhooks', 'replay').stderr).toContain('webhooks replay needs an ID or --failed');
  }, 180_000);
});
