import type { Failure, FailureKind } from './Failure.js';

/** Retry with exponential back-off and full jitter, honouring the provider's `retry-after` when asked to. */
export interface BackoffPolicy {
  action: 'backoff';
  /** Attempts in all, the first included; the attempt numbered `maxAttempts` is the last. */
  maxAttempts: number;
  /** The back-off ceiling of the first retry; it doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  /** No delay is ever longer, `retry-after` included. */
  maxDelayMs: number;
  /** Wait what the provider's `retry-after` says (plus up to 10% jitter) instead of the back-off. */
  honorRetryAfter: boolean;
  /** Whether this kind of failure is recorded by the provider's circuit breaker. */
  countsTowardBreaker: boolean;
}

/** Shrink the context (trim or summarise old turns), then call again; at most `maxShrinks` times. */
export interface ShrinkPolicy {
  action: 'shrink';
  maxShrinks: number;
}

/** Ask again with the validation error and a format reminder; at most `maxReasks` times. */
export interface ReaskPolicy {
  action: 'reask';
  maxReasks: number;
}

/** Fail at once: retrying cannot help. */
export interface FailPolicy {
  action: 'fail';
}

/** What to do about one kind of failure. */
export type RetryPolicy = BackoffPolicy | ShrinkPolicy | ReaskPolicy | FailPolicy;

/** The retry table: one policy per failure kind. */
export type RetryPolicies = { readonly [K in FailureKind]: RetryPolicy };

/** The retry table Spine uses unless told otherwise (see the package README). */
export const defaultRetryPolicies: RetryPolicies = Object.freeze({
  rate_limit: {
    action: 'backoff',
    maxAttempts: 8,
    baseDelayMs: 1_000,
    maxDelayMs: 120_000,
    honorRetryAfter: true,
    countsTowardBreaker: false,
  },
  transient: {
    action: 'backoff',
    maxAttempts: 5,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    honorRetryAfter: true,
    countsTowardBreaker: true,
  },
  timeout: {
    action: 'backoff',
    maxAttempts: 3,
    baseDelayMs: 1_000,
    maxDelayMs: 30_000,
    honorRetryAfter: false,
    countsTowardBreaker: true,
  },
  bad_request: { action: 'fail' },
  context_overflow: { action: 'shrink', maxShrinks: 2 },
  malformed_output: { action: 'reask', maxReasks: 2 },
  aborted: { action: 'fail' },
});

/** A change to one row of the retry table: a whole new policy, or some fields of the default one. */
export type RetryPolicyOverride =
  | RetryPolicy
  | Partial<Omit<BackoffPolicy, 'action'>>
  | Partial<Omit<ShrinkPolicy, 'action'>>
  | Partial<Omit<ReaskPolicy, 'action'>>;

/**
 * Builds a retry table from the defaults and some overrides.
 *
 * @example
 * ```ts
 * const policies = retryPolicies({ rate_limit: { maxAttempts: 3 }, bad_request: { action: 'fail' } });
 * ```
 */
export function retryPolicies(
  overrides: { [K in FailureKind]?: RetryPolicyOverride } = {},
  base: RetryPolicies = defaultRetryPolicies,
): RetryPolicies {
  const out = { ...base } as Record<FailureKind, RetryPolicy>;
  for (const [kind, override] of Object.entries(overrides) as [FailureKind, RetryPolicyOverride | undefined][]) {
    if (!override) continue;
    out[kind] = 'action' in override && override.action !== base[kind].action
      ? (override as RetryPolicy)
      : ({ ...base[kind], ...override } as RetryPolicy);
  }
  return Object.freeze(out);
}

/** What to do next about a failed call. */
export type Decision =
  | { action: 'retry'; delayMs: number }
  | { action: 'shrink' }
  | { action: 'reask'; message: string }
  | { action: 'fail'; reason: string };

/**
 * Decides what to do about a failure (pure; jitter comes from the injected `random`).
 *
 * `attempt` is the 1-based number of the attempt that just failed (the host's attempt counter);
 * for shrink and re-ask it is the number of times this kind of failure has happened so far.
 *
 * @example
 * ```ts
 * const d = decide(classifyFailure(error), ctx.attempt, defaultRetryPolicies, seededRandom(7));
 * if (d.action === 'retry') throw new RetryableError({ retryAfterMs: d.delayMs, kind: failure.kind });
 * ```
 */
export function decide(
  failure: Failure,
  attempt: number,
  policies: RetryPolicies = defaultRetryPolicies,
  random: () => number = Math.random,
): Decision {
  const policy = policies[failure.kind];
  switch (policy.action) {
    case 'fail':
      return { action: 'fail', reason: failReason(failure) };
    case 'backoff': {
      if (attempt >= policy.maxAttempts) {
        return { action: 'fail', reason: `Gave up after ${attempt} attempts: ${failure.message}` };
      }
      return { action: 'retry', delayMs: backoffDelay(policy, attempt, failure.retryAfterMs, random) };
    }
    case 'shrink':
      if (attempt > policy.maxShrinks) {
        return {
          action: 'fail',
          reason: `The context still overflows after ${policy.maxShrinks} shrinks: ${failure.message}`,
        };
      }
      return { action: 'shrink' };
    case 'reask':
      if (attempt > policy.maxReasks) {
        return {
          action: 'fail',
          reason: `The answer still misses the schema after ${policy.maxReasks} re-asks: ${failure.message}`,
        };
      }
      return { action: 'reask', message: reaskMessage(failure) };
  }
}

/**
 * The delay before retry number `attempt`: `retry-after` (plus up to 10% jitter) when honoured and
 * present, else full jitter over `min(maxDelayMs, baseDelayMs * 2^(attempt-1))`; never above `maxDelayMs`.
 */
export function backoffDelay(
  policy: Pick<BackoffPolicy, 'baseDelayMs' | 'maxDelayMs' | 'honorRetryAfter'>,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (policy.honorRetryAfter && retryAfterMs !== undefined) {
    return Math.min(policy.maxDelayMs, Math.floor(retryAfterMs + random() * retryAfterMs * 0.1));
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Whether a failure should be recorded by the provider's circuit breaker under these policies. */
export function countsTowardBreaker(failure: Failure, policies: RetryPolicies = defaultRetryPolicies): boolean {
  const policy = policies[failure.kind];
  return policy.action === 'backoff' && policy.countsTowardBreaker;
}

/** The user message that re-asks for a structured answer: what failed, and the JSON Schema to match. */
export function reaskMessage(failure: Pick<Failure, 'issues' | 'expected' | 'message'>): string {
  const issues = failure.issues?.length
    ? failure.issues.map((issue) => `- ${issue.path || '(root)'}: ${issue.message}`).join('\n')
    : `- ${failure.message}`;
  const schema = failure.expected === undefined ? '' : `\n\nThe JSON Schema:\n${JSON.stringify(failure.expected)}`;
  return (
    `Your previous answer did not match the required format:\n${issues}\n\n` +
    `Answer again with only a JSON value that matches the schema: no prose, no code fences.${schema}`
  );
}

function failReason(failure: Failure): string {
  if (failure.kind === 'aborted') return `Cancelled: ${failure.message}`;
  return `Not retried (${failure.kind}): ${failure.message}`;
}
