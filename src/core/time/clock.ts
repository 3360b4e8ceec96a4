/** The only source of "now" in Recur. Domain code receives a Clock; it never reads the wall clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock that moves only when told to: tests, simulations and test clocks. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string | number) {
    this.current = new Date(start).getTime();
    if (Number.isNaN(this.current)) throw new RangeError(`Invalid start time: ${String(start)}`);
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string | number): void {
    const next = new Date(to).getTime();
    if (Number.isNaN(next)) throw new RangeError(`Invalid time: ${String(to)}`);
    this.current = next;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
