import type { FastifyRequest } from 'fastify';

// What the request log may say about a URL. Fastify logs every request ("incoming request", with
// req.url) at info level, and a client can put card data in the query string even where the API
// refuses it (POST /v1/payment_methods?card[number]=…&card[cvc]=…): the values of sensitive-looking
// parameters, and anything that looks like a card number, never reach the log.

/** Query parameters whose value is never logged (matched on the decoded key, any nesting: card[number], card[cvc], …). */
const SENSITIVE_KEY = /card|cvc|cvv|number|token|secret|password/i;
/** A card number anywhere else (metadata, a path segment): 12–19 digits, spaces and dashes ignored. */
const CARD_LIKE = /\d(?:[\s-]*\d){11,18}/;

export const REDACTED = '[REDACTED]';

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** The URL for the log: the path, and the query string with sensitive values replaced by [REDACTED]. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const path = CARD_LIKE.test(decode(rawPath)) ? rawPath.split('/').map((seg) => (CARD_LIKE.test(decode(seg)) ? REDACTED : seg)).join('/') : rawPath;
  if (q === -1) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      if (SENSITIVE_KEY.test(decode(key))) return eq === -1 ? key : `${key}=${REDACTED}`;
      // A key can hold a number too (card%5B4242…%5D): then nothing of the parameter is kept.
      if (CARD_LIKE.test(decode(key))) return REDACTED;
      return CARD_LIKE.test(decode(value)) ? `${key}=${REDACTED}` : part;
    })
    .join('&');
  return `${path}?${query}`;
}

/** Fastify's own `req` log serializer (method, url, version, host, remote address and port), with the URL redacted. */
export function requestLogSerializer(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: redactUrl(req.url),
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
