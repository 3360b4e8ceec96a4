import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.js';
import { testConfig } from '../../config.js';
import { ManualClock } from '../../core/time/index.js';
import { migrate } from '../../db/migrate.js';
import { openTestDb, type TestDb } from '../../../test/helpers/db.js';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { createApiKey } from '../api-keys/service.js';
import { readFingerprintSecret } from './installation-secret.js';
import { SimulatedGateway } from './simulated-gateway.js';

// The simulated gateway's card fingerprint is HMAC-SHA256 of the card number. It used to be keyed by a
// constant shipped in the code ('recur-simulated'): with the last4 and fingerprint the API serves and a
// public BIN, trying the few unknown digits gave the number back in under a second. The key is now the
// installation's own random secret (migration 0015): the same card keeps its fingerprint within an
// installation, across restarts, and another installation gives it another one.

const OLD_CONSTANT_KEY = 'recur-simulated';
const SECRET_NUMBER = '4111110012345679'; // BIN 411111, Luhn-valid, not one of Stripe's test cards

const hmac16 = (key: string, number: string) => createHmac('sha256', key).update(number).digest('base64url').slice(0, 16);

function luhn(n: string): boolean {
  let sum = 0;
  for (let i = 0; i < n.length; i++) {
    let d = Number(n[n.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

async function tokenize(app: FastifyInstance, key: string, number: string): Promise<{ fingerprint: string; last4: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/payment_methods',
    headers: { authorization: `Bearer ${key}` },
    payload: { type: 'card', card: { number, exp_month: 12, exp_year: 2030 } },
  });
  expect(res.statusCode, res.body).toBe(200);
  return (JSON.parse(res.body) as { card: { fingerprint: string; last4: string } }).card;
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('card fingerprint', () => {
  it('does not give the card number back to someone who knows the BIN, the last4 and the old constant key', async () => {
    expect(luhn(SECRET_NUMBER)).toBe(true);
    const { fingerprint, last4 } = await tokenize(t.app, t.key, SECRET_NUMBER);
    expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(fingerprint).not.toBe(hmac16(OLD_CONSTANT_KEY, SECRET_NUMBER));
    // The attack: every Luhn-valid number with that BIN and last4, hashed under the shipped key.
    let recovered: string | null = null;
    for (let mid = 0; mid < 1_000_000 && !recovered; mid++) {
      const candidate = `411111${String(mid).padStart(6, '0')}${last4}`;
      if (luhn(candidate) && hmac16(OLD_CONSTANT_KEY, candidate) === fingerprint) recovered = candidate;
    }
    expect(recovered).toBeNull();
  }, 60_000);

  it('is keyed by the installation secret stored in the database: random, one row, never the old constant', async () => {
    const secret = await readFingerprintSecret(t.testDb.db);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(secret).not.toBe(OLD_CONSTANT_KEY);
    const { fingerprint } = await tokenize(t.app, t.key, SECRET_NUMBER);
    expect(fingerprint).toBe(hmac16(secret, SECRET_NUMBER));
    const { rows } = await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM installation');
    expect(rows[0]!.n).toBe(1);
    await expect(t.testDb.db.query(`INSERT INTO installation (fingerprint_secret) VALUES (repeat('0', 64))`)).rejects.toThrow();
  });

  it('is the same for the same card in one installation, across a restart (a second app over the same database)', async () => {
    const first = await tokenize(t.app, t.key, SECRET_NUMBER);
    const again = await tokenize(t.app, t.key, SECRET_NUMBER);
    const other = await tokenize(t.app, t.key, '4242424242424242');
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(other.fingerprint).not.toBe(first.fingerprint);
    const restarted = (await buildApp({ db: t.testDb.db, clock: t.clock, config: testConfig({ logLevel: 'warn' }) })).app;
    try {
      expect((await tokenize(restarted, t.key, SECRET_NUMBER)).fingerprint).toBe(first.fingerprint);
    } finally {
      await restarted.close();
    }
  });

  it('differs between installations: a database migrated from scratch gets a secret of its own', async () => {
    let fresh: TestDb | undefined;
    let app: FastifyInstance | undefined;
    try {
      fresh = await openTestDb({ migrate: false });
      const clock = new ManualClock('2026-01-15T12:00:00Z');
      await migrate(fresh.db, clock);
      const [mine, theirs] = [await readFingerprintSecret(t.testDb.db), await readFingerprintSecret(fresh.db)];
      expect(theirs).toMatch(/^[0-9a-f]{64}$/);
      expect(theirs).not.toBe(mine);
      app = (await buildApp({ db: fresh.db, clock, config: testConfig({ logLevel: 'warn' }) })).app;
      const key = (await createApiKey(fresh.db, { name: 'fp-test', scope: 'admin' }, clock.now())).secret;
      const here = await tokenize(t.app, t.key, SECRET_NUMBER);
      const there = await tokenize(app, key, SECRET_NUMBER);
      expect(there.last4).toBe(here.last4);
      expect(there.fingerprint).not.toBe(here.fingerprint);
      expect(there.fingerprint).toBe(hmac16(theirs, SECRET_NUMBER));
    } finally {
      await app?.close();
      await fresh?.close();
    }
  }, 120_000); // a database made and migrated from nothing (no template): slow on a busy machine
});

describe('SimulatedGateway fingerprint secret', () => {
  const now = () => new Date('2026-01-15T12:00:00Z');

  it('has no default: a missing or empty secret is refused when the gateway is built', () => {
    expect(() => new SimulatedGateway({ now } as unknown as ConstructorParameters<typeof SimulatedGateway>[0])).toThrow(/fingerprintSecret/);
    expect(() => new SimulatedGateway({ now, fingerprintSecret: '' })).toThrow(/fingerprintSecret/);
  });

  it('awaits a secret still being read, and fails tokenising (never falls back) when the read failed', async () => {
    const card = { number: SECRET_NUMBER, exp_month: 12, exp_year: 2030 };
    const pending = new SimulatedGateway({ now, fingerprintSecret: Promise.resolve('k'.repeat(64)) });
    expect((await pending.tokenizeCard(card)).fingerprint).toBe(hmac16('k'.repeat(64), SECRET_NUMBER));
    const failed = new SimulatedGateway({ now, fingerprintSecret: Promise.reject(new Error('database down')) });
    await expect(failed.tokenizeCard(card)).rejects.toThrow('database down');
  });
});
