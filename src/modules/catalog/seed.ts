import type { Queryable } from '../../db/index.js';

// PLACEHOLDER until the catalog module lands (being written now): seeds nothing.
export async function seedCatalog(_q: Queryable, _now: Date): Promise<{ created: number }> {
  return { created: 0 };
}
