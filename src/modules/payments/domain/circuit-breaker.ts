// A circuit breaker per gateway. Only gateway faults count against it (a decline is a healthy answer).
// closed → `failureThreshold` consecutive faults → open (requests skip the gateway) → after
// `cooldownMs` one probe request is let through (half-open) → a success closes, a fault re-opens.
// Time comes from the caller (the injected Clock), so tests move it by hand.

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
}

export class CircuitBreaker {
  private state_: BreakerState = 'closed';
  private consecutiveFaults = 0;
  private openedAt = 0;
  private probeInFlight = false;

  constructor(private readonly opts: BreakerOptions) {}

  state(nowMs: number): BreakerState {
    if (this.state_ === 'open' && nowMs - this.openedAt >= this.opts.cooldownMs) return 'half_open';
    return this.state_;
  }

  /** Whether a request may go to the gateway now; in half-open state, one probe at a time. */
  tryAcquire(nowMs: number): boolean {
    if (this.opts.failureThreshold <= 0) return true; // disabled
    const s = this.state(nowMs);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.probeInFlight) return false;
    this.state_ = 'half_open';
    this.probeInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.state_ = 'closed';
    this.consecutiveFaults = 0;
    this.probeInFlight = false;
  }

  onFault(nowMs: number): void {
    this.probeInFlight = false;
    if (this.state_ === 'half_open') {
      this.state_ = 'open';
      this.openedAt = nowMs;
      return;
    }
    this.consecutiveFaults++;
    if (this.opts.failureThreshold > 0 && this.consecutiveFaults >= this.opts.failureThreshold) {
      this.state_ = 'open';
      this.openedAt = nowMs;
    }
  }

  snapshot(nowMs: number): { state: BreakerState; consecutive_faults: number; opened_at: number | null } {
    const state = this.state(nowMs);
    return { state, consecutive_faults: this.consecutiveFaults, opened_at: state === 'closed' ? null : Math.floor(this.openedAt / 1000) };
  }
}
