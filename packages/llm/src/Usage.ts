/**
 * Tokens one or more model calls spent.
 *
 * `inputTokens` counts every prompt token, cached or not; `cacheReadTokens` and `cacheWriteTokens`
 * say how many of them were read from or written to the provider's prompt cache (priced differently).
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** A usage of zero tokens, the start of a sum. */
export const zeroUsage: Readonly<Usage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});

/** Adds two usages field by field. */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

/** Total tokens of a usage (input, which includes cached tokens, plus output). */
export function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens;
}
