import type { TestApp } from './app.js';

// API calls of a randomised test, each logged as one line (to show the last steps when a check
// fails) and any 5xx kept, since no input, however random, may get one.

export function recordedCalls(t: Pick<TestApp, 'call'>) {
  const log: string[] = [];
  const fivexx: unknown[] = [];
  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) => {
    const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
    log.push(`${method} ${url} ${JSON.stringify(payload ?? {})} → ${res.status}${res.status >= 400 ? ' ' + (res.body?.error?.code ?? '') : ''}`);
    if (res.status >= 500) fivexx.push({ method, url, payload, body: res.body });
    return res;
  };
  return { call, log, fivexx };
}
