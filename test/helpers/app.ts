import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config.js';
import { ManualClock } from '../../src/core/time/index.js';
import type { AppDeps } from '../../src/deps.js';
import { createApiKey, type Scope } from '../../src/modules/api-keys/service.js';
import { openTestDb, type TestDb } from './db.js';

export interface TestApp {
  app: FastifyInstance;
  deps: AppDeps;
  clock: ManualClock;
  testDb: TestDb;
  key: string;
  keyFor: (scope: Scope) => Promise<string>;
  /** app.inject with the admin key and JSON by default. */
  call: (opts: InjectOptions & { key?: string | null }) => Promise<{ status: number; body: any; headers: Record<string, unknown> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close: () => Promise<void>;
}

export async function createTestApp(opts: { config?: Partial<Config>; start?: string } = {}): Promise<TestApp> {
  const testDb = await openTestDb();
  const clock = new ManualClock(opts.start ?? '2026-01-15T12:00:00Z');
  // TEST_LOG_LEVEL=error shows the server's own log (e.g. the cause of a 500) while debugging a test.
  const logLevel = process.env.TEST_LOG_LEVEL ? { logLevel: process.env.TEST_LOG_LEVEL } : {};
  const { app, deps } = await buildApp({ db: testDb.db, clock, config: testConfig({ ...logLevel, ...opts.config }) });
  await app.ready();
  const keyFor = async (scope: Scope) => (await createApiKey(testDb.db, { name: `test-${scope}`, scope }, clock.now())).secret;
  const key = await keyFor('admin');
  const call: TestApp['call'] = async ({ key: k, headers, ...rest }) => {
    const auth = k === null ? {} : { authorization: `Bearer ${k ?? key}` };
    const res = await app.inject({ ...rest, headers: { ...auth, ...(headers ?? {}) } } as InjectOptions);
    let body: unknown = res.body;
    try {
      body = JSON.parse(res.body);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.statusCode, body, headers: res.headers as Record<string, unknown> };
  };
  return {
    app,
    deps,
    clock,
    testDb,
    key,
    keyFor,
    call,
    close: async () => {
      await app.close();
      await testDb.close();
    },
  };
}
