import type { Store } from '@spine/runtime';

/**
 * Restores the circuit breakers of `@spine/llm` from the store's journals when the loaded machines
 * use it (its module registers itself process-wide when imported). Machines that make no model or
 * tool calls never pay for loading it.
 */
export async function restoreBreakers(store: Store): Promise<void> {
  if (!(globalThis as Record<symbol, unknown>)[Symbol.for('spine.llm.breakerRestore')]) return;
  const llm = await import('@spine/llm');
  await llm.restoreBreakers(store);
}
