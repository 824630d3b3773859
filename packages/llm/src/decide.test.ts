import { describe, expect, it } from 'vitest';
import { backoffDelay, countsTowardBreaker, decide, defaultRetryPolicies, retryPolicies, type BackoffPolicy } from './decide.js';
import type { Failure } from './Failure.js';
import { seededRandom } from './seededRandom.js';

const rateLimit: Failure = { kind: 'rate_limit', message: 'slow down', status: 429 };
const transient: Failure = { kind: 'transient', message: 'HTTP 503', status: 503 };

describe('decide', () => {
  it('waits what retry-after says on a rate limit, plus at most 10% jitter', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const d = decide({ ...rateLimit, retryAfterMs: 5000 }, 1, defaultRetryPolicies, seededRandom(seed));
      expect(d.action).toBe('retry');
      if (d.action !== 'retry') return;
      expect(d.delayMs).toBeGreaterThanOrEqual(5000);
      expect(d.delayMs).toBeLessThanOrEqual(5500);
    }
  });

  it('caps a long retry-after at the policy maximum', () => {
    const d = decide({ ...rateLimit, retryAfterMs: 3_600_000 }, 1, defaultRetryPolicies, () => 0.5);
    expect(d).toEqual({ action: 'retry', delayMs: 120_000 });
  });

  it('backs off exponentially with full jitter inside [0, min(max, base*2^(n-1))) for many seeds', () => {
    const policy = defaultRetryPolicies.transient as BackoffPolicy;
    for (let seed = 1; seed <= 500; seed++) {
      const random = seededRandom(seed);
      for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
        const d = decide(transient, attempt, defaultRetryPolicies, random);
        expect(d.action).toBe('retry');
        if (d.action !== 'retry') return;
        const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
        expect(d.delayMs).toBeGreaterThanOrEqual(0);
        expect(d.delayMs).toBeLessThan(ceiling);
      }
    }
  });

  it('spreads jittered delays rather than repeating one value', () => {
    const random = seededRandom(42);
    const delays = new Set(
      Array.from({ length: 50 }, () => {
        const d = decide(transient, 4, defaultRetryPolicies, random);
        return d.action === 'retry' ? d.delayMs : -1;
      }),
    );
    expect(delays.size).toBeGreaterThan(40);
  });

  it('is reproducible with the same seed', () => {
    const a = decide(transient, 3, defaultRetryPolicies, seededRandom(9));
    const b = decide(transient, 3, defaultRetryPolicies, seededRandom(9));
    expect(a).toEqual(b);
  });

  it('never exceeds the maximum delay however many attempts are allowed', () => {
    const policies = retryPolicies({ transient: { maxAttempts: 100, maxDelayMs: 10_000 } });
    for (let attempt = 1; attempt < 100; attempt++) {
      const d = decide(transient, attempt, policies, () => 0.999999);
      expect(d.action === 'retry' && d.delayMs <= 10_000).toBe(true);
    }
  });

  it('gives up once the attempts are used up', () => {
    const d = decide(transient, 5, defaultRetryPolicies, () => 0.5);
    expect(d.action).toBe('fail');
    if (d.action === 'fail') expect(d.reason).toMatch(/after 5 attempts: HTTP 503/);
    expect(decide(rateLimit, 8).action).toBe('fail');
    expect(decide(rateLimit, 7, defaultRetryPolicies, () => 0).action).toBe('retry');
  });

  it('fails fast on a bad request and on cancellation', () => {
    expect(decide({ kind: 'bad_request', message: '401 invalid key', status: 401 }, 1)).toEqual({
      action: 'fail',
      reason: 'Not retried (bad_request): 401 invalid key',
    });
    expect(decide({ kind: 'aborted', message: 'cancelled' }, 1).action).toBe('fail');
  });

  it('shrinks on context overflow, then fails after the allowed shrinks', () => {
    const overflow: Failure = { kind: 'context_overflow', message: 'too long' };
    expect(decide(overflow, 1)).toEqual({ action: 'shrink' });
    expect(decide(overflow, 2)).toEqual({ action: 'shrink' });
    expect(decide(overflow, 3).action).toBe('fail');
  });

  it('re-asks a malformed answer with the failing field and the schema, twice by default', () => {
    const malformed: Failure = {
      kind: 'malformed_output',
      message: 'bad',
      issues: [{ path: 'items.0.price', message: 'Invalid input: expected number, received string' }],
      expected: { type: 'object', properties: { items: { type: 'array' } } },
    };
    const d = decide(malformed, 1);
    expect(d.action).toBe('reask');
    if (d.action === 'reask') {
      expect(d.message).toContain('items.0.price: Invalid input: expected number, received string');
      expect(d.message).toContain('"properties":{"items":{"type":"array"}}');
      expect(d.message).toMatch(/only a JSON value/);
    }
    expect(decide(malformed, 2).action).toBe('reask');
    expect(decide(malformed, 3).action).toBe('fail');
  });

  it('lets a caller override one row of the table', () => {
    const policies = retryPolicies({ bad_request: { action: 'backoff', maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, honorRetryAfter: false, countsTowardBreaker: false }, malformed_output: { maxReasks: 0 } });
    expect(decide({ kind: 'bad_request', message: 'x' }, 1, policies, () => 0.5)).toEqual({ action: 'retry', delayMs: 5 });
    expect(decide({ kind: 'malformed_output', message: 'x' }, 1, policies).action).toBe('fail');
    expect(policies.transient).toEqual(defaultRetryPolicies.transient);
  });

  it('counts transient failures and timeouts toward the breaker, not rate limits or bad requests', () => {
    expect(countsTowardBreaker(transient)).toBe(true);
    expect(countsTowardBreaker({ kind: 'timeout', message: '' })).toBe(true);
    expect(countsTowardBreaker(rateLimit)).toBe(false);
    expect(countsTowardBreaker({ kind: 'bad_request', message: '' })).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('ignores retry-after when the policy does not honour it', () => {
    const delay = backoffDelay({ baseDelayMs: 100, maxDelayMs: 1000, honorRetryAfter: false }, 1, 50_000, () => 0.5);
    expect(delay).toBe(50);
  });
});

describe('seededRandom', () => {
  it('stays in [0, 1) and repeats for a seed', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(b()).toBe(x);
    }
  });
});
