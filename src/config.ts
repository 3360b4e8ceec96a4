// Every setting Recur reads from the environment, with its default. The README's configuration
// table mirrors this file.

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  rateLimit: number;
  logLevel: string;
  worker: boolean;
  seed: boolean;
  bodyLimit: number;
  /** Seconds a renewal invoice stays draft before it is finalised and charged (Stripe: 1 hour). */
  finalizeDelaySeconds: number;
  /** Rows a worker claims per batch. */
  workerBatchSize: number;
}

function int(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

function bool(name: string, fallback: boolean, env: NodeJS.ProcessEnv): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got '${raw}'`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: int('PORT', 3000, env),
    host: env.HOST || '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.RECUR_DATA_DIR || './.recur/data',
    dbPoolSize: int('RECUR_DB_POOL_SIZE', 10, env),
    rateLimit: int('RECUR_RATE_LIMIT', 100, env),
    logLevel: env.RECUR_LOG_LEVEL || 'info',
    worker: bool('RECUR_WORKER', true, env),
    seed: bool('RECUR_SEED', true, env),
    bodyLimit: 1024 * 1024,
    finalizeDelaySeconds: int('RECUR_FINALIZE_DELAY_SECONDS', 3600, env),
    workerBatchSize: int('RECUR_WORKER_BATCH_SIZE', 500, env),
  };
}

/** Defaults for in-process tests: no rate limit surprises, quiet logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), rateLimit: 0, logLevel: 'silent', worker: false, seed: false, ...overrides };
}
