import { CircuitOpenError } from './errors.js';

/** The three states of a circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** How a circuit breaker trips and recovers. */
export interface CircuitBreakerOptions {
  /** Opens after this many failures in a row. Default 5. */
  failureThreshold?: number;
  /** Also opens when at least `minCallsInWindow` calls in the last `windowMs` failed at this rate (0..1). Default 0.5. */
  failureRateThreshold?: number;
  /** Default 60 000. */
  windowMs?: number;
  /** Default 10. */
  minCallsInWindow?: number;
  /** How long it stays open before letting one probe through; also how long a probe may stay out. Default 30 000. */
  coolDownMs?: number;
  /** The clock. Default `Date.now`. */
  now?: () => number;
}

/** The persisted state of a circuit breaker: plain JSON the runtime can store and the studio can show. */
export interface CircuitBreakerJSON {
  name: string;
  state: CircuitState;
  consecutiveFailures: number;
  /** Recent outcomes inside the window: `[time, 1 = failure | 0 = success]`. */
  recent: [number, 0 | 1][];
  /** When it last opened. */
  openedAt: number | null;
  /** When the half-open probe was let through, while it is out. */
  probeStartedAt: number | null;
}

const MAX_RECENT = 1000;

/**
 * A circuit breaker for one provider or tool: closed, open after repeated failures, half-open after
 * a cool-down (one probe allowed), closed again on the probe's success or open on its failure.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker('provider:openai', { now: clock.now });
 * const result = await breaker.run(() => callModel(request, options), {
 *   isFailure: (error) => countsTowardBreaker(classifyFailure(error)),
 * });
 * await store.saveBreaker(breaker.toJSON());
 * ```
 */
export class CircuitBreaker {
  readonly name: string;
  private readonly failureThreshold: number;
  private readonly failureRateThreshold: number;
  private readonly windowMs: number;
  private readonly minCallsInWindow: number;
  private readonly coolDownMs: number;
  private readonly now: () => number;

  private stored: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private recent: [number, 0 | 1][] = [];
  private openedAt: number | null = null;
  private probeStartedAt: number | null = null;

  constructor(name: string, options: CircuitBreakerOptions = {}) {
    this.name = name;
    this.failureThreshold = options.failureThreshold ?? 5;
    this.failureRateThreshold = options.failureRateThreshold ?? 0.5;
    this.windowMs = options.windowMs ?? 60_000;
    this.minCallsInWindow = options.minCallsInWindow ?? 10;
    this.coolDownMs = options.coolDownMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Restores a breaker from `toJSON()` output. */
  static from(json: CircuitBreakerJSON, options: CircuitBreakerOptions = {}): CircuitBreaker {
    const breaker = new CircuitBreaker(json.name, options);
    breaker.stored = json.state;
    breaker.consecutiveFailures = json.consecutiveFailures;
    breaker.recent = json.recent.map(([at, failed]) => [at, failed]);
    breaker.openedAt = json.openedAt;
    breaker.probeStartedAt = json.probeStartedAt;
    return breaker;
  }

  /** The current state; an open breaker whose cool-down has passed reads as half-open. */
  get state(): CircuitState {
    if (this.stored === 'open' && this.openedAt !== null && this.now() >= this.openedAt + this.coolDownMs) {
      return 'half_open';
    }
    return this.stored;
  }

  /** Milliseconds until a call may be let through (0 when one may go now). */
  retryAfterMs(): number {
    const now = this.now();
    const state = this.state;
    if (state === 'open') return Math.max(0, (this.openedAt ?? now) + this.coolDownMs - now);
    if (state === 'half_open' && this.probeOut(now)) {
      return Math.max(0, (this.probeStartedAt ?? now) + this.coolDownMs - now);
    }
    return 0;
  }

  /**
   * Asks to make a call: returns when it may go (taking the single probe when half-open), throws
   * `CircuitOpenError` with the time until the next probe otherwise.
   */
  acquire(): void {
    const now = this.now();
    const state = this.state;
    if (state === 'closed') return;
    if (state === 'open' || this.probeOut(now)) {
      throw new CircuitOpenError({ breaker: this.name, retryAfterMs: Math.max(1, this.retryAfterMs()) });
    }
    this.stored = 'half_open';
    this.probeStartedAt = now;
  }

  /** Records a call that worked (or failed in a way that says nothing about the provider's health). */
  recordSuccess(): void {
    const now = this.now();
    const state = this.state;
    if (state === 'half_open') {
      this.close();
      return;
    }
    if (state === 'open') return; // a call that started before the breaker opened
    this.consecutiveFailures = 0;
    this.push(now, 0);
  }

  /** Records a call that failed in a way that counts against the provider or tool. */
  recordFailure(): void {
    const now = this.now();
    const state = this.state;
    if (state === 'half_open') {
      this.open(now);
      return;
    }
    if (state === 'open') return; // a call that started before the breaker opened
    this.consecutiveFailures += 1;
    this.push(now, 1);
    if (this.consecutiveFailures >= this.failureThreshold || this.rateExceeded()) this.open(now);
  }

  /**
   * Runs `fn` through the breaker: `acquire()`, then `recordSuccess` or, for errors where
   * `isFailure` says so (default: all), `recordFailure`; the error is rethrown either way.
   */
  async run<T>(fn: () => Promise<T>, options: { isFailure?: (error: unknown) => boolean } = {}): Promise<T> {
    this.acquire();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      if (options.isFailure?.(error) ?? true) this.recordFailure();
      else this.recordSuccess();
      throw error;
    }
    this.recordSuccess();
    return result;
  }

  /** The state as plain JSON, for the store and the studio. */
  toJSON(): CircuitBreakerJSON {
    this.prune(this.now());
    return {
      name: this.name,
      state: this.state,
      consecutiveFailures: this.consecutiveFailures,
      recent: this.recent.map(([at, failed]) => [at, failed]),
      openedAt: this.openedAt,
      probeStartedAt: this.probeStartedAt,
    };
  }

  private probeOut(now: number): boolean {
    return this.probeStartedAt !== null && now < this.probeStartedAt + this.coolDownMs;
  }

  private open(now: number): void {
    this.stored = 'open';
    this.openedAt = now;
    this.probeStartedAt = null;
  }

  private close(): void {
    this.stored = 'closed';
    this.consecutiveFailures = 0;
    this.recent = [];
    this.openedAt = null;
    this.probeStartedAt = null;
  }

  private push(now: number, failed: 0 | 1): void {
    this.recent.push([now, failed]);
    this.prune(now);
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]![0] < from) drop++;
    if (this.recent.length - drop > MAX_RECENT) drop = this.recent.length - MAX_RECENT;
    if (drop > 0) this.recent.splice(0, drop);
  }

  private rateExceeded(): boolean {
    if (this.recent.length < this.minCallsInWindow) return false;
    const failures = this.recent.reduce((n, [, failed]) => n + failed, 0);
    return failures / this.recent.length >= this.failureRateThreshold;
  }
}
