import type { Db } from '../db/index.js';
import { AuthenticationError } from '../core/errors/index.js';
import { findActiveKey, type Scope } from '../modules/api-keys/service.js';

export interface AuthInfo {
  keyId: string;
  scope: Scope;
}

// Looking a key up costs a query per request; a short cache keeps the hot path to one query.
// Revocation is immediate in the process that revokes and takes effect elsewhere within CACHE_MS.
const CACHE_MS = 5_000;

export class Authenticator {
  private cache = new Map<string, { info: AuthInfo | null; until: number }>();

  constructor(private readonly db: Db) {}

  async authenticate(header: string | undefined, nowMs: number): Promise<AuthInfo> {
    const secret = parseBearer(header);
    if (!secret) throw new AuthenticationError('You did not provide an API key. Send it as "Authorization: Bearer sk_...".');
    const hit = this.cache.get(secret);
    let info: AuthInfo | null;
    if (hit && hit.until > nowMs) info = hit.info;
    else {
      const row = await findActiveKey(this.db, secret);
      info = row ? { keyId: row.id, scope: row.scope } : null;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(secret, { info, until: nowMs + CACHE_MS });
    }
    if (!info) throw new AuthenticationError(`Invalid API key provided: ${mask(secret)}`);
    return info;
  }

  forget(): void {
    this.cache.clear();
  }
}

function parseBearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (m) return m[1]!;
  // Stripe also accepts HTTP Basic with the key as the user name.
  const b = /^Basic\s+(\S+)$/i.exec(header.trim());
  if (b) return Buffer.from(b[1]!, 'base64').toString('utf8').split(':')[0] || null;
  return null;
}

function mask(secret: string): string {
  return secret.length > 8 ? `${secret.slice(0, 3)}…${secret.slice(-4)}` : '***';
}

/** Token bucket per API key: `rate` requests a second with bursts of 2×rate. 0 disables. */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number) {}

  /** Returns 0 when allowed, otherwise the seconds to wait. */
  take(key: string, nowMs: number): number {
    if (this.rate <= 0) return 0;
    const burst = this.rate * 2;
    const b = this.buckets.get(key) ?? { tokens: burst, at: nowMs };
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
    b.at = nowMs;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }
}
