import type { Db } from '../src/db/index.js';
import { ensureWallets, lockWallets } from '../src/modules/credits/repository.js';
import { createGrants } from '../src/modules/credits/service.js';

/**
 * Creates `n` customers (ids cus_bench<tag><n>) with a wallet and a promotional grant large enough
 * never to run out, through the same grant code as the API (one posting for all of them).
 */
export async function setupUsageCustomers(db: Db, now: Date, n: number, tag: string): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `cus_bench${tag}${String(i).padStart(6, '0')}`);
  await db.tx(async (q) => {
    await q.query(
      `INSERT INTO customers (id, email, created, updated) SELECT u.id, u.id || '@example.com', $2, $2 FROM unnest($1::text[]) AS u(id)`,
      [ids, now],
    );
    await ensureWallets(q, ids, now);
    await lockWallets(q, ids);
    await createGrants(
      q,
      now,
      ids.map((customer) => ({
        source: 'promotion' as const,
        customer,
        amount: 1_000_000_000_000,
        effectiveAt: new Date(now.getTime() - 60_000),
        expiresAt: null,
        description: 'Benchmark credits',
        testClock: null,
      })),
    );
  });
  return ids;
}
