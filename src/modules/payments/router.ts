import type { FastifyBaseLogger } from 'fastify';
import type { RoutingRule } from './config.js';
import { decodeStoredRef, decodeVaultToken, encodeVaultToken } from './codec.js';
import { CircuitBreaker } from './domain/circuit-breaker.js';
import { selectRoute } from './domain/routing-rules.js';
import { orderBySuccessRate, SuccessRates } from './domain/success-rates.js';
import {
  faultOutcome,
  PAYMENT_PENDING,
  type CardDetails,
  type CardSetup,
  type ChargeOutcome,
  type ChargeRequest,
  type Gateway,
  type Gateways,
  type RefundOutcome,
  type RefundRequest,
  type RouteStep,
  type RoutingInfo,
  type TokenizedCard,
} from './gateway.js';

// The payment router. It implements the same Gateways/Gateway seam as a single gateway, so
// attemptPayment, payInvoice and the worker's collectInvoices use it without special cases.
//
// New cards are saved at every configured gateway (a "vault token" keeps each gateway's token). A
// charge goes down an ordered gateway list chosen by rules (currency, customer country, amount,
// payment method type, brand), reordered by rolling success rate with a little exploration, skipping
// gateways whose circuit is open. It moves to the next gateway ONLY on a gateway fault, never after a
// decline (a decline is the customer's bank speaking; another gateway would only ask it again). A
// fault whose outcome is unknown (a timeout) is reconciled first — the charge is looked up by its
// idempotency key — and the router fails over only when that gateway provably has no charge.
// Otherwise the attempt stays unknown ("processing") and the gateways that may have seen the key are
// recorded, so the retry reconciles them before anything else: a customer is never charged twice.

export const ROUTER_NAME = 'router';

export interface RouterOptions {
  /** The concrete gateways; `order` lists the ones new cards are saved at, in default priority. */
  gateways: Gateway[];
  order: string[];
  rules?: RoutingRule[];
  successRateRouting?: boolean;
  exploration?: number;
  /** Samples per gateway × currency × brand before success rates reorder the rule's list. */
  minSamples?: number;
  breaker?: { failureThreshold: number; cooldownMs: number };
  /** Milliseconds now, from the injected Clock. */
  now: () => number;
  random?: () => number;
  logger?: Pick<FastifyBaseLogger, 'warn' | 'info'>;
}

export class GatewayRouter implements Gateways {
  readonly default: Gateway;
  private readonly byName: Map<string, Gateway>;
  private readonly views = new Map<string, Gateway>();
  readonly breakers = new Map<string, CircuitBreaker>();
  readonly rates = new SuccessRates(100);

  constructor(readonly opts: RouterOptions) {
    this.byName = new Map(opts.gateways.map((g) => [g.name, g]));
    for (const g of opts.order) if (!this.byName.has(g)) throw new Error(`router: gateway '${g}' is not configured`);
    for (const g of opts.gateways) this.breakers.set(g.name, new CircuitBreaker(opts.breaker ?? { failureThreshold: 5, cooldownMs: 30_000 }));
    this.default = new RoutedGateway(this, null);
  }

  get(name: string): Gateway {
    if (name === ROUTER_NAME) return this.default;
    if (!this.byName.has(name)) throw new Error(`Unknown gateway: ${name}`);
    let v = this.views.get(name);
    if (!v) {
      v = new RoutedGateway(this, name);
      this.views.set(name, v);
    }
    return v;
  }

  concrete(name: string): Gateway {
    const g = this.byName.get(name);
    if (!g) throw new Error(`Unknown gateway: ${name}`);
    return g;
  }

  /** Breaker states and success rates, for operators (GET /v1/payment_routing). */
  status() {
    const now = this.opts.now();
    return {
      gateways: [...this.byName.keys()].map((g) => ({ gateway: g, circuit: this.breakers.get(g)!.snapshot(now) })),
      success_rates: this.rates.snapshot(),
      success_rate_routing: this.opts.successRateRouting ?? true,
      exploration: this.opts.exploration ?? 0,
    };
  }
}

/** A charge's outcome plus what the router did, for the payment intent. */
function withRouting(out: ChargeOutcome, gateway: string | null, routing: RoutingInfo, tried?: string[]): ChargeOutcome {
  const o: ChargeOutcome = { ...out, routing };
  if (gateway) o.gateway = gateway;
  if (o.status === 'failed' && tried) o.tried = tried;
  return o;
}

function isPending(o: ChargeOutcome): boolean {
  return o.status === 'failed' && o.code === PAYMENT_PENDING;
}

function isFault(o: ChargeOutcome): o is Extract<ChargeOutcome, { status: 'failed' }> {
  return o.status === 'failed' && o.failureClass === 'gateway_fault' && o.code !== PAYMENT_PENDING;
}

/**
 * The routed gateway. `only` = null: the router's own (cards saved at every gateway, full routing);
 * `only` = a gateway name: a payment method saved at that one gateway, charged through the same
 * breaker, statistics and reconciliation.
 */
class RoutedGateway implements Gateway {
  readonly name: string;

  constructor(
    private readonly router: GatewayRouter,
    private readonly only: string | null,
  ) {
    this.name = only ?? ROUTER_NAME;
  }

  private get opts(): RouterOptions {
    return this.router.opts;
  }

  async tokenizeCard(card: CardDetails): Promise<TokenizedCard> {
    if (this.only) return this.router.concrete(this.only).tokenizeCard(card);
    const names = this.opts.order;
    const results = await Promise.allSettled(names.map((n) => this.router.concrete(n).tokenizeCard(card)));
    const ok = results.map((r, i) => ({ r, n: names[i]! })).filter((x): x is { r: PromiseFulfilledResult<TokenizedCard>; n: string } => x.r.status === 'fulfilled');
    const firstError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // The card itself was refused by the first-choice gateway (bad number, declined at setup): say so.
    if (results[0]?.status === 'rejected' && (results[0].reason as { status?: number }).status === 402) throw results[0].reason;
    if (ok.length === 0) throw firstError!.reason;
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') this.opts.logger?.warn({ gateway: names[i], err: String((r.reason as Error).message ?? r.reason) }, 'card not saved at this gateway; it cannot fail over there');
    }
    const first = ok[0]!.r.value;
    return {
      ...first,
      token: encodeVaultToken({
        tokens: Object.fromEntries(ok.map((x) => [x.n, x.r.value.token])),
        brand: first.brand,
        country: first.country,
        funding: first.funding,
        type: 'card',
      }),
    };
  }

  /** The card's token per gateway: a vault token's entries, or this view's gateway's own token. */
  private tokensOf(req: ChargeRequest): { tokens: Record<string, string>; brand: string | null; country: string | null; type: string } {
    const vault = decodeVaultToken(req.token);
    if (vault) return { tokens: vault.tokens, brand: vault.brand, country: vault.country, type: vault.type };
    const name = this.only ?? this.opts.order[0]!;
    return { tokens: { [name]: req.token }, brand: null, country: null, type: 'card' };
  }

  async charge(req: ChargeRequest): Promise<ChargeOutcome> {
    const { tokens, brand: tokenBrand, country: tokenCountry, type } = this.tokensOf(req);
    const ctx = req.context ?? {};
    const brand = ctx.brand ?? tokenBrand;
    const now = this.opts.now;
    const steps: RouteStep[] = [];
    const routing = (rule: string | null, candidates: string[], explored: boolean, reconciled = false): RoutingInfo => ({ rule, candidates, steps, explored, reconciled });
    const requestFor = (g: string): ChargeRequest => ({ ...req, token: tokens[g]! });

    // 1. Resuming an attempt whose outcome was unknown: ask the gateways that may have seen the key
    //    before anything else. Only when each provably has no charge is the attempt routed afresh.
    const previous = decodeStoredRef(ctx.previousRef);
    for (const g of previous.tried) {
      if (!tokens[g] || !this.router.breakers.has(g)) continue;
      let found: ChargeOutcome | null;
      try {
        found = await this.router.concrete(g).retrieveCharge(req.idempotencyKey, requestFor(g));
      } catch (err) {
        steps.push({ gateway: g, result: 'gateway_fault', code: 'reconciliation_failed' });
        return withRouting(faultOutcome('gateway_unavailable', `The outcome at '${g}' is still unknown: ${(err as Error).message}`), null, routing(null, previous.tried, false, true), previous.tried);
      }
      if (found) {
        steps.push({ gateway: g, result: found.status === 'succeeded' ? 'succeeded' : found.failureClass, code: found.status === 'failed' ? found.code : undefined });
        return withRouting(found, g, routing(null, previous.tried, false, true), isPending(found) ? [g] : undefined);
      }
      steps.push({ gateway: g, result: 'no_charge_found' });
    }

    // 2. The gateway list: rules, then only gateways holding a token for this card, then success rates.
    const country = ctx.customerCountry ?? ctx.cardCountry ?? tokenCountry;
    const route = this.only
      ? { rule: null, gateways: [this.only] }
      : selectRoute(this.opts.rules ?? [], { amount: req.amount, currency: req.currency, country, paymentMethodType: ctx.paymentMethodType ?? type, brand }, this.opts.order);
    const eligible: string[] = [];
    for (const g of route.gateways) {
      if (tokens[g] && this.router.breakers.has(g)) eligible.push(g);
      else steps.push({ gateway: g, result: 'no_token' });
    }
    const { order, explored } =
      this.opts.successRateRouting === false || this.only
        ? { order: eligible, explored: false }
        : orderBySuccessRate(eligible, (g) => this.router.rates.get(g, req.currency, brand), {
            minSamples: this.opts.minSamples ?? 20,
            exploration: this.opts.exploration ?? 0,
            random: this.opts.random ?? Math.random,
          });
    const info = routing(route.rule, order, explored);

    // 3. Down the list: the next gateway only after a fault that provably charged nothing.
    let last: ChargeOutcome | null = null;
    for (const g of order) {
      const breaker = this.router.breakers.get(g)!;
      if (!breaker.tryAcquire(now())) {
        steps.push({ gateway: g, result: 'skipped_open_circuit' });
        continue;
      }
      const gw = this.router.concrete(g);
      let out: ChargeOutcome;
      try {
        out = await gw.charge(requestFor(g));
      } catch (err) {
        out = faultOutcome('gateway_unavailable', `The payment gateway '${g}' did not answer: ${(err as Error).message}`);
      }
      steps.push({ gateway: g, result: out.status === 'succeeded' ? 'succeeded' : out.failureClass, code: out.status === 'failed' ? out.code : undefined });
      if (!isFault(out)) {
        // Success, decline or pending: the gateway answered. A decline never fails over.
        breaker.onSuccess();
        if (!isPending(out)) this.router.rates.record(g, req.currency, brand, out.status === 'succeeded');
        return withRouting(out, g, info, isPending(out) ? [g] : undefined);
      }
      breaker.onFault(now());
      this.router.rates.record(g, req.currency, brand, false);
      last = out;
      if (out.notProcessed) continue;
      // The outcome is unknown: did the charge go through? Look it up by the idempotency key.
      let found: ChargeOutcome | null;
      try {
        found = await gw.retrieveCharge(req.idempotencyKey, requestFor(g));
      } catch (err) {
        this.opts.logger?.warn({ gateway: g, key: req.idempotencyKey, err: (err as Error).message }, 'charge outcome unknown; not failing over');
        return withRouting(out, g, info, [g]);
      }
      if (found) {
        steps.push({ gateway: g, result: found.status === 'succeeded' ? 'succeeded' : found.failureClass, code: found.status === 'failed' ? found.code : 'reconciled' });
        info.reconciled = true;
        if (isFault(found)) return withRouting(found, g, info, [g]);
        return withRouting(found, g, info, isPending(found) ? [g] : undefined);
      }
      // Provably nothing charged at g: failing over is safe.
    }
    if (last) return withRouting({ ...last, notProcessed: true }, null, info, []);
    return withRouting(
      faultOutcome(
        'gateway_unavailable',
        order.length ? 'Every gateway for this payment is unavailable (circuit open).' : 'No configured gateway can charge this payment method.',
        { notProcessed: true },
      ),
      null,
      info,
      [],
    );
  }

  async retrieveCharge(idempotencyKey: string, req?: ChargeRequest): Promise<ChargeOutcome | null> {
    if (this.only) return this.router.concrete(this.only).retrieveCharge(idempotencyKey, req);
    const tried = decodeStoredRef(req?.context?.previousRef).tried;
    if (!req || tried.length === 0) throw new Error('router: which gateway to ask is unknown without the attempt’s stored reference');
    const { tokens } = this.tokensOf(req);
    for (const g of tried) {
      if (!tokens[g]) continue;
      const found = await this.router.concrete(g).retrieveCharge(idempotencyKey, { ...req, token: tokens[g] });
      if (found) return { ...found, gateway: g };
    }
    return null;
  }

  async refund(req: RefundRequest): Promise<RefundOutcome> {
    if (!this.only) throw new Error('router: refund through the gateway that took the money (gateways.get(name))');
    const g = this.router.concrete(this.only);
    if (!g.refund) return { status: 'failed', failureClass: 'hard_decline', code: 'refunds_unsupported', message: `The gateway '${g.name}' cannot refund.` };
    return g.refund(req);
  }

  async syncCustomer(token: string, customer: { id: string; email?: string | null; name?: string | null }): Promise<void> {
    const vault = decodeVaultToken(token);
    const entries = vault ? Object.entries(vault.tokens) : this.only ? [[this.only, token] as const] : [];
    for (const [g, t] of entries) await this.router.concrete(g).syncCustomer?.(t, customer);
  }

  /** A card created by a gateway's own element (Stripe.js): saved at that gateway only. */
  async importPaymentMethod(gatewayPaymentMethod: string, customer?: { id: string; email?: string | null; name?: string | null }): Promise<TokenizedCard> {
    const names = this.only ? [this.only] : this.opts.order;
    const g = names.map((n) => this.router.concrete(n)).find((x) => x.importPaymentMethod);
    if (!g) throw new Error('No configured gateway imports payment methods.');
    const card = await g.importPaymentMethod!(gatewayPaymentMethod, customer);
    if (this.only) return card;
    return { ...card, token: encodeVaultToken({ tokens: { [g.name]: card.token }, brand: card.brand, country: card.country, funding: card.funding, type: 'card' }) };
  }

  private setupGateway(): Gateway | undefined {
    const names = this.only ? [this.only] : this.opts.order;
    return names.map((n) => this.router.concrete(n)).find((g) => g.createCardSetup && g.completeCardSetup);
  }

  async createCardSetup(customer: { id: string; email?: string | null; name?: string | null }): Promise<CardSetup> {
    const g = this.setupGateway();
    if (!g) throw new Error('No configured gateway saves cards through a hosted element.');
    return g.createCardSetup!(customer);
  }

  /** A card saved through a gateway's element exists at that gateway only: it cannot fail over. */
  async completeCardSetup(setupId: string): Promise<TokenizedCard> {
    const g = this.setupGateway();
    if (!g) throw new Error('No configured gateway saves cards through a hosted element.');
    const card = await g.completeCardSetup!(setupId);
    if (this.only) return card;
    return { ...card, token: encodeVaultToken({ tokens: { [g.name]: card.token }, brand: card.brand, country: card.country, funding: card.funding, type: 'card' }) };
  }
}
