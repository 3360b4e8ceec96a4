import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { envBool, envInt, envNumber } from './index.js';

describe('settings from the environment', () => {
  it('unset or empty takes the default; a value must parse', () => {
    expect([envInt({}, 'N', 7), envInt({ N: '' }, 'N', 7), envInt({ N: '12' }, 'N', 7)]).toEqual([7, 7, 12]);
    expect(() => envInt({ N: '1.5' }, 'N', 7)).toThrow("N must be a non-negative integer, got '1.5'");
    expect(() => envInt({ N: '-1' }, 'N', 7)).toThrow("N must be a non-negative integer, got '-1'");
    expect([envBool({ B: 'yes' }, 'B', false), envBool({ B: 'OFF' }, 'B', true), envBool({}, 'B', true)]).toEqual([true, false, true]);
    expect(() => envBool({ B: 'maybe' }, 'B', true)).toThrow("B must be true or false, got 'maybe'");
    expect([envNumber({ X: '0.25' }, 'X', 0.05, 0, 1), envNumber({}, 'X', 0.05, 0, 1)]).toEqual([0.25, 0.05]);
    expect(() => envNumber({ X: '2' }, 'X', 0.05, 0, 1)).toThrow("X must be a number from 0 to 1, got '2'");
  });

  it('each module reads its variables through them: a typo fails startup with the variable named', () => {
    const c = loadConfig({ RECUR_WORKER_CONCURRENCY: '4', RECUR_WORKER: 'false', RECUR_USAGE_PARTITIONS: '0', RECUR_ROUTING_EXPLORATION: '0.1' });
    expect([c.workerConcurrency, c.worker, c.credits.usagePartitions, c.payments.exploration, c.finalizeDelaySeconds]).toEqual([4, false, 1, 0.1, 3600]);
    expect(() => loadConfig({ RECUR_FINALIZE_DELAY_SECONDS: 'an hour' })).toThrow("RECUR_FINALIZE_DELAY_SECONDS must be a non-negative integer, got 'an hour'");
    expect(() => loadConfig({ RECUR_CREDIT_PACK_EXPIRY_DAYS: 'x' })).toThrow("RECUR_CREDIT_PACK_EXPIRY_DAYS must be a non-negative integer, got 'x'");
    expect(() => loadConfig({ RECUR_ROUTING_SUCCESS_RATE: 'sometimes' })).toThrow("RECUR_ROUTING_SUCCESS_RATE must be true or false, got 'sometimes'");
  });
});
