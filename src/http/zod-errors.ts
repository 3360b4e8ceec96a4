import type { z } from 'zod';
import { InvalidRequestError } from '../core/errors/index.js';

/** Stripe spells nested params with brackets: items[0][price], address[country]. */
export function bracketPath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  return (head ?? '') + rest.map((p) => `[${p}]`).join('');
}

/** The first zod issue becomes one 400 that names the offending parameter. */
export function toInvalidRequest(error: z.ZodError, input: unknown, prefix: readonly PropertyKey[] = []): InvalidRequestError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const param = bracketPath([...prefix, ...issue.path, issue.keys[0]!]);
    return new InvalidRequestError(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
  }
  const param = bracketPath([...prefix, ...issue.path]);
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    return new InvalidRequestError(`Missing required param: ${param}.`, param, 'parameter_missing');
  }
  return new InvalidRequestError(`Invalid ${param || 'request'}: ${issue.message}`, param || undefined, 'parameter_invalid');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/**
 * The path of the first string (value or key) holding a NUL character, or null. PostgreSQL text
 * cannot store U+0000, so such input would otherwise fail deep inside a query as a 500.
 */
export function findNul(input: unknown): PropertyKey[] | null {
  if (typeof input === 'string') return input.includes('\u0000') ? [] : null;
  if (input === null || typeof input !== 'object') return null;
  for (const [k, v] of Object.entries(input)) {
    if (k.includes('\u0000')) return [k];
    // Every request walks its input: the path is built only on the way back from a find.
    const found = findNul(v);
    if (found) return [Array.isArray(input) ? Number(k) : k, ...found];
  }
  return null;
}

/** Rejects params, query or body holding a NUL character with a 400 that names the parameter. */
export function rejectNul(...inputs: unknown[]): void {
  for (const input of inputs) {
    const path = findNul(input);
    if (path) {
      const param = bracketPath(path);
      throw new InvalidRequestError(`Invalid ${param || 'request'}: must not contain the NUL character (U+0000).`, param || undefined, 'parameter_invalid');
    }
  }
}
