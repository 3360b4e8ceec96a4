import { expect } from 'vitest';
import type { createBillingApp } from '../helpers/billing.js';

export type BillingApp = Awaited<ReturnType<typeof createBillingApp>>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Evt = { id: string; type: string; created: number; data: { object: any; previous_attributes?: Record<string, unknown> } };

/** Every event about one object, oldest first (all pages). */
export async function eventsOf(t: BillingApp, objectId: string, type?: string): Promise<Evt[]> {
  const out: Evt[] = [];
  let after: string | undefined;
  for (;;) {
    const url = `/v1/events?object_id=${objectId}&limit=100${type ? `&type=${encodeURIComponent(type)}` : ''}${after ? `&starting_after=${after}` : ''}`;
    const res = await t.call({ method: 'GET', url });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...res.body.data);
    if (!res.body.has_more) break;
    after = res.body.data[res.body.data.length - 1].id;
  }
  return out.reverse();
}

/** POST that must answer 200; the body. */
export async function postOk(t: BillingApp, url: string, payload: Record<string, unknown> = {}) {
  const res = await t.call({ method: 'POST', url, payload });
  expect(res.status, `${url} ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}
