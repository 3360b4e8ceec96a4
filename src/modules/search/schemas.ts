import { z } from 'zod';
import { zExpand, zInt } from '../../http/schemas.js';

export const searchQuery = z.strictObject({
  query: z.string().min(1).max(10_000),
  limit: zInt().pipe(z.number().int().min(1).max(100)).optional(),
  page: z.string().optional(),
  expand: zExpand(),
});
