import { loadConfig, testConfig } from '../src/config.js';
import type { Db } from '../src/db/index.js';
import { gatewaysOf } from '../src/modules/payments/gateway.js';
import { readFingerprintSecret } from '../src/modules/payments/installation-secret.js';
import { SimulatedGateway } from '../src/modules/payments/simulated-gateway.js';
import type { BillingDeps } from '../src/modules/subscriptions/jobs.js';

/** What a bench worker runs with, in this process or a forked one: the simulated gateway, renewals finalised at once. */
export async function benchBillingDeps(db: Db, now: Date, batch: number): Promise<BillingDeps> {
  return {
    gateways: gatewaysOf([new SimulatedGateway({ fingerprintSecret: await readFingerprintSecret(db), now: () => now })]),
    // RECUR_CHARGE_ON_FINALIZE=true|false compares the two ways on one database (unset: the database's default).
    config: testConfig({ finalizeDelaySeconds: 0, workerBatchSize: batch, chargeOnFinalize: loadConfig(process.env).chargeOnFinalize }),
  };
}
