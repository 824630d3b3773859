import { describe, expect, it } from 'vitest';
import { assertBudget, checkBudget, splitBudget } from './Budget.js';
import { BudgetExceededError, ConfigError } from './errors.js';

describe('checkBudget', () => {
  it('allows spending up to the limit exactly', () => {
    expect(checkBudget({ maxTokens: 100 }, { tokens: 60, usd: 0 }, { tokens: 40, usd: 0 })).toEqual({ ok: true });
  });

  it('refuses a call whose estimate would pass the token limit', () => {
    expect(checkBudget({ maxTokens: 100 }, { tokens: 60, usd: 0 }, { tokens: 41, usd: 0 })).toEqual({
      ok: false,
      exceeded: 'tokens',
      spent: 60,
      estimate: 41,
      limit: 100,
    });
  });

  it('refuses a call whose estimate would pass the dollar limit', () => {
    expect(checkBudget({ maxTokens: 1e9, maxUsd: 0.5 }, { tokens: 0, usd: 0.45 }, { tokens: 10, usd: 0.1 })).toMatchObject({
      ok: false,
      exceeded: 'usd',
      limit: 0.5,
    });
  });

  it('treats an absent limit as no limit', () => {
    expect(checkBudget({}, { tokens: 1e12, usd: 1e6 }, { tokens: 1e12, usd: 1e6 })).toEqual({ ok: true });
  });

  it('throws a terminal BudgetExceededError from assertBudget', () => {
    let error: unknown;
    try {
      assertBudget({ maxUsd: 1 }, { tokens: 0, usd: 0.9 }, { tokens: 0, usd: 0.2 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({ retryable: false, code: 'budget_exceeded', exceeded: 'usd', limit: 1 });
  });
});

describe('splitBudget', () => {
  it('divides limits by weight', () => {
    expect(splitBudget({ maxTokens: 1000, maxUsd: 1 }, { researcher: 3, writer: 1 })).toEqual({
      researcher: { maxTokens: 750, maxUsd: 0.75 },
      writer: { maxTokens: 250, maxUsd: 0.25 },
    });
  });

  it('never hands out more than the whole', () => {
    const parts = splitBudget({ maxTokens: 1000, maxUsd: 1 }, { a: 1, b: 1, c: 1 });
    const values = Object.values(parts);
    expect(values.reduce((s, p) => s + p.maxTokens!, 0)).toBeLessThanOrEqual(1000);
    expect(values.reduce((s, p) => s + p.maxUsd!, 0)).toBeLessThanOrEqual(1);
  });

  it('leaves absent limits absent', () => {
    expect(splitBudget({ maxUsd: 2 }, { a: 1 })).toEqual({ a: { maxUsd: 2 } });
  });

  it('refuses negative or all-zero shares', () => {
    expect(() => splitBudget({ maxUsd: 1 }, { a: -1 })).toThrow(ConfigError);
    expect(() => splitBudget({ maxUsd: 1 }, { a: 0, b: 0 })).toThrow(/all be zero/);
  });
});
