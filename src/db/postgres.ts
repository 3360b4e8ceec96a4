import pg from 'pg';
import type { Db, Queryable, QueryResult } from './types.js';

// BIGINT (int8) holds minor units and counts, always within 2^53; parse it as a number.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PostgresOptions {
  connectionString: string;
  max?: number;
  /** Used by tests to isolate each file in its own schema. */
  searchPath?: string;
}

export async function openPostgres(opts: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    // JIT compilation pays off for long analytic queries, not for OLTP: a worker batch's statements
    // (thousands of rows through correlated subqueries) get cost estimates above jit_above_cost and
    // then spend ~0.4 s compiling for a few milliseconds of work (measured on the fraud signals).
    options: ['-c jit=off', ...(opts.searchPath ? [`-c search_path=${opts.searchPath}`] : [])].join(' '),
  });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const query = async <R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> => {
    const res = await pool.query(sql, params as unknown[]);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };
  return {
    kind: 'postgres',
    query,
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const q: Queryable = {
          async query<R>(sql: string, params: readonly unknown[] = []) {
            const res = await client.query(sql, params as unknown[]);
            return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        };
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    exec: async (sql) => {
      await pool.query(sql);
    },
    close: () => pool.end(),
  };
}
