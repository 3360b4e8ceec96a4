// Success-rate-aware ordering (the idea Hyperswitch calls auth-rate based routing): a rolling success
// rate per gateway × currency × card brand over the last `window` attempts, and a small share of
// exploration so a gateway that looks worse keeps being measured and can win back its place.

export interface RateSample {
  rate: number;
  samples: number;
}

export class SuccessRates {
  private readonly windows = new Map<string, { outcomes: Uint8Array; next: number; count: number; successes: number }>();

  constructor(private readonly window = 100) {}

  private key(gateway: string, currency: string, brand: string | null | undefined): string {
    return `${gateway}|${currency.toLowerCase()}|${(brand ?? 'unknown').toLowerCase()}`;
  }

  record(gateway: string, currency: string, brand: string | null | undefined, success: boolean): void {
    const k = this.key(gateway, currency, brand);
    let w = this.windows.get(k);
    if (!w) {
      w = { outcomes: new Uint8Array(this.window), next: 0, count: 0, successes: 0 };
      this.windows.set(k, w);
    }
    if (w.count === this.window) w.successes -= w.outcomes[w.next]!;
    else w.count++;
    w.outcomes[w.next] = success ? 1 : 0;
    w.successes += success ? 1 : 0;
    w.next = (w.next + 1) % this.window;
  }

  get(gateway: string, currency: string, brand: string | null | undefined): RateSample {
    const w = this.windows.get(this.key(gateway, currency, brand));
    if (!w || w.count === 0) return { rate: 0, samples: 0 };
    return { rate: w.successes / w.count, samples: w.count };
  }

  snapshot(): { gateway: string; currency: string; brand: string; rate: number; samples: number }[] {
    return [...this.windows.entries()].map(([k, w]) => {
      const [gateway, currency, brand] = k.split('|') as [string, string, string];
      return { gateway, currency, brand, rate: w.count ? w.successes / w.count : 0, samples: w.count };
    });
  }
}

export interface OrderOptions {
  /** Below this many samples for any candidate, the rule's order stands (not enough evidence). */
  minSamples: number;
  /** Probability of trying a random other candidate first. */
  exploration: number;
  random: () => number;
}

/**
 * Orders candidates by smoothed success rate ((successes + 1) / (samples + 2)), best first, keeping
 * the rule's order on ties and while evidence is thin; then, with probability `exploration`, puts a
 * random other candidate first.
 */
export function orderBySuccessRate(candidates: readonly string[], rateOf: (gateway: string) => RateSample, opts: OrderOptions): { order: string[]; explored: boolean } {
  let order = [...candidates];
  if (order.length < 2) return { order, explored: false };
  const samples = order.map(rateOf);
  if (samples.every((s) => s.samples >= opts.minSamples)) {
    const score = (s: RateSample) => (s.rate * s.samples + 1) / (s.samples + 2);
    order = order
      .map((g, i) => ({ g, i, s: score(samples[i]!) }))
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .map((x) => x.g);
  }
  if (opts.exploration > 0 && opts.random() < opts.exploration) {
    const pick = 1 + Math.floor(opts.random() * (order.length - 1));
    const [g] = order.splice(pick, 1);
    order.unshift(g!);
    return { order, explored: true };
  }
  return { order, explored: false };
}
