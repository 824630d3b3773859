import { BudgetExceededError, ConfigError } from './errors.js';

/** A spending limit: tokens, US dollars, or both. An absent field is no limit. */
export interface Budget {
  maxTokens?: number;
  maxUsd?: number;
}

/** What has been spent, or what a call is estimated to spend. */
export interface Spent {
  tokens: number;
  usd: number;
}

/** The verdict of `checkBudget`. */
export type BudgetCheck =
  | { ok: true }
  | { ok: false; exceeded: 'tokens' | 'usd'; spent: number; estimate: number; limit: number; unpriced?: { model: string } };

/**
 * Checks whether spending `estimate` on top of `spent` stays within `budget` (pure). Tokens are
 * checked before dollars; reaching the limit exactly is allowed. A dollar limit on a call whose
 * model has no price (`estimate.priced === false`) is refused: it could not be metered.
 *
 * @example
 * ```ts
 * const check = checkBudget({ maxUsd: 0.5 }, { tokens: 12_000, usd: 0.42 }, { tokens: 3_000, usd: 0.1 });
 * if (!check.ok) throw new BudgetExceededError(check);
 * ```
 */
export function checkBudget(budget: Budget, spent: Spent, estimate: Spent & { priced?: boolean; model?: string }): BudgetCheck {
  if (budget.maxTokens !== undefined && spent.tokens + estimate.tokens > budget.maxTokens) {
    return { ok: false, exceeded: 'tokens', spent: spent.tokens, estimate: estimate.tokens, limit: budget.maxTokens };
  }
  if (budget.maxUsd !== undefined && estimate.priced === false) {
    return { ok: false, exceeded: 'usd', spent: spent.usd, estimate: 0, limit: budget.maxUsd, unpriced: { model: estimate.model ?? '(unknown model)' } };
  }
  if (budget.maxUsd !== undefined && spent.usd + estimate.usd > budget.maxUsd) {
    return { ok: false, exceeded: 'usd', spent: spent.usd, estimate: estimate.usd, limit: budget.maxUsd };
  }
  return { ok: true };
}

/** Like `checkBudget`, but throws `BudgetExceededError` when the budget would be exceeded. */
export function assertBudget(budget: Budget, spent: Spent, estimate: Spent): void {
  const check = checkBudget(budget, spent, estimate);
  if (!check.ok) throw new BudgetExceededError(check);
}

/**
 * Divides a budget among agents by weight (a supervisor handing out shares); the parts never add up
 * to more than the whole (tokens are floored, dollars floored to a millionth).
 *
 * @throws ConfigError when a weight is negative or not finite, or all weights are zero.
 * @example
 * ```ts
 * splitBudget({ maxUsd: 1 }, { researcher: 3, writer: 1 }); // { researcher: { maxUsd: 0.75 }, writer: { maxUsd: 0.25 } }
 * ```
 */
export function splitBudget<K extends string>(budget: Budget, shares: Record<K, number>): Record<K, Budget> {
  const entries = Object.entries(shares) as [K, number][];
  for (const [name, weight] of entries) {
    if (!Number.isFinite(weight) || weight < 0) {
      throw new ConfigError(`Budget share for "${name}" must be a non-negative number, got ${weight}.`);
    }
  }
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  if (total <= 0) throw new ConfigError('Budget shares must not all be zero.');
  const out = {} as Record<K, Budget>;
  for (const [name, weight] of entries) {
    const part: Budget = {};
    if (budget.maxTokens !== undefined) part.maxTokens = Math.floor((budget.maxTokens * weight) / total);
    if (budget.maxUsd !== undefined) part.maxUsd = Math.floor((budget.maxUsd * weight * 1e6) / total) / 1e6;
    out[name] = part;
  }
  return out;
}
