import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './CircuitBreaker.js';
import { CircuitOpenError } from './errors.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('stays closed below the consecutive-failure threshold and resets on success', () => {
    const c = clock();
    const breaker = new CircuitBreaker('provider:x', { failureThreshold: 3, now: c.now });
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    expect(() => breaker.acquire()).not.toThrow();
  });

  it('opens after N consecutive failures and refuses calls with the time until half-open', () => {
    const c = clock();
    const breaker = new CircuitBreaker('provider:x', { failureThreshold: 3, coolDownMs: 10_000, now: c.now });
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    expect(breaker.state).toBe('open');
    c.advance(4_000);
    let error: unknown;
    try {
      breaker.acquire();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 6_000, breaker: 'provider:x', code: 'circuit_open' });
  });

  it('opens when the failure rate in the window crosses the threshold', () => {
    const c = clock();
    const breaker = new CircuitBreaker('tool:search', {
      failureThreshold: 100,
      failureRateThreshold: 0.5,
      minCallsInWindow: 6,
      windowMs: 10_000,
      now: c.now,
    });
    // F S F S F -> 5 calls, below the minimum; the 6th (F) makes 4/6 failures.
    for (const ok of [false, true, false, true, false]) {
      if (ok) breaker.recordSuccess();
      else breaker.recordFailure();
      c.advance(100);
    }
    expect(breaker.state).toBe('closed');
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
  });

  it('forgets outcomes that fell out of the window', () => {
    const c = clock();
    const breaker = new CircuitBreaker('tool:search', {
      failureThreshold: 100,
      minCallsInWindow: 4,
      windowMs: 1_000,
      now: c.now,
    });
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordFailure();
    c.advance(5_000);
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.toJSON().recent).toHaveLength(2);
    expect(breaker.state).toBe('closed');
  });

  it('goes half-open after the cool-down and lets exactly one probe through', () => {
    const c = clock();
    const breaker = new CircuitBreaker('p', { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    breaker.recordFailure();
    c.advance(1_000);
    expect(breaker.state).toBe('half_open');
    breaker.acquire();
    expect(() => breaker.acquire()).toThrow(CircuitOpenError);
  });

  it('closes when the probe succeeds', () => {
    const c = clock();
    const breaker = new CircuitBreaker('p', { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    breaker.recordFailure();
    c.advance(1_000);
    breaker.acquire();
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.toJSON()).toMatchObject({ consecutiveFailures: 0, openedAt: null, probeStartedAt: null });
  });

  it('opens again, with a fresh cool-down, when the probe fails', () => {
    const c = clock();
    const breaker = new CircuitBreaker('p', { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    breaker.recordFailure();
    c.advance(1_500);
    breaker.acquire();
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBe(1_000);
  });

  it('lets another probe through when the first one never reported back (a crash mid-probe)', () => {
    const c = clock();
    const breaker = new CircuitBreaker('p', { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    breaker.recordFailure();
    c.advance(1_000);
    breaker.acquire();
    c.advance(1_000);
    expect(() => breaker.acquire()).not.toThrow();
  });

  it('ignores late outcomes of calls that started before it opened', () => {
    const c = clock();
    const breaker = new CircuitBreaker('p', { failureThreshold: 1, coolDownMs: 1_000, now: c.now });
    breaker.recordFailure();
    breaker.recordSuccess();
    expect(breaker.state).toBe('open');
  });

  it('round-trips through JSON, probe in flight included', () => {
    const c = clock();
    const breaker = new CircuitBreaker('provider:x', { failureThreshold: 2, coolDownMs: 1_000, now: c.now });
    breaker.recordFailure();
    breaker.recordFailure();
    c.advance(1_000);
    breaker.acquire();
    const json = JSON.parse(JSON.stringify(breaker.toJSON()));
    const restored = CircuitBreaker.from(json, { failureThreshold: 2, coolDownMs: 1_000, now: c.now });
    expect(restored.toJSON()).toEqual(breaker.toJSON());
    expect(restored.state).toBe('half_open');
    expect(() => restored.acquire()).toThrow(CircuitOpenError);
    restored.recordSuccess();
    expect(restored.state).toBe('closed');
  });

  it('runs a function, counting only the errors it is told to count', async () => {
    const c = clock();
    const breaker = new CircuitBreaker('p', { failureThreshold: 2, now: c.now });
    const boom = () => Promise.reject(new Error('400'));
    await expect(breaker.run(boom, { isFailure: () => false })).rejects.toThrow('400');
    await expect(breaker.run(boom, { isFailure: () => false })).rejects.toThrow('400');
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(boom)).rejects.toThrow('400');
    await expect(breaker.run(boom)).rejects.toThrow('400');
    expect(breaker.state).toBe('open');
    await expect(breaker.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
  });
});
