import { newId } from '../../core/ids/index.js';
import type { Queryable } from '../../db/index.js';
import { seedTemplates } from '../notifications/seed.js';
import { DEFAULT_SEGMENT_RULES, SEED_PLANS } from './domain/plans.js';
import { insertPlanOnce, putSetting } from './repository.js';
import { SEGMENTATION_KEY } from './service.js';

/**
 * Seeds the three dunning plans, the segmentation rules and the English templates. Idempotent: only
 * what is missing is inserted, so an operator's edits survive every start.
 */
export async function seedDunning(q: Queryable, now: Date): Promise<{ created: number }> {
  let created = 0;
  for (const p of SEED_PLANS) {
    const row = await insertPlanOnce(q, { id: newId('dplan'), ...p, active: true, metadata: {}, created: now, updated: now });
    if (row) created++;
  }
  await putSetting(q, SEGMENTATION_KEY, DEFAULT_SEGMENT_RULES, now, true);
  created += (await seedTemplates(q, now)).created;
  return { created };
}
