import type { CircuitBreakerJSON } from './CircuitBreaker.js';
import type { BreakerFacts } from './ledger.js';

/** What `readBreakerStates` needs of a store: the runtime `Store`'s `listJobs`. */
export interface BreakerJournalSource {
  listJobs(query: Record<string, never>): Promise<readonly { journal: string }[]>;
}

/**
 * The last journaled state of every circuit breaker, read from a store's job journals (each model
 * and tool attempt journals its breaker with the call). An open breaker whose journal predates
 * `openedAt` is taken as opened when that attempt ended.
 *
 * @example
 * ```ts
 * llm.restoreBreakers(await readBreakerStates(store));
 * ```
 */
export async function readBreakerStates(store: BreakerJournalSource): Promise<CircuitBreakerJSON[]> {
  const latest = new Map<string, { at: number; facts: BreakerFacts }>();
  for (const job of await store.listJobs({})) {
    let journal: unknown;
    try {
      journal = JSON.parse(job.journal);
    } catch {
      continue; // a corrupt journal says nothing about breakers
    }
    if (!Array.isArray(journal)) continue;
    for (const entry of journal as Record<string, unknown>[]) {
      const facts = entry?.['breaker'] as BreakerFacts | undefined;
      if (!facts || typeof facts.name !== 'string' || !['closed', 'open', 'half_open'].includes(facts.state)) continue;
      const started = typeof entry['startedAt'] === 'number' ? entry['startedAt'] : 0;
      const at = started + (typeof entry['durationMs'] === 'number' ? entry['durationMs'] : 0);
      const seen = latest.get(facts.name);
      if (!seen || seen.at <= at) latest.set(facts.name, { at, facts });
    }
  }
  return [...latest.values()]
    .map(({ at, facts }) => ({
      name: facts.name,
      state: facts.state,
      consecutiveFailures: Number.isInteger(facts.consecutiveFailures) ? facts.consecutiveFailures : 0,
      recent: [],
      openedAt: typeof facts.openedAt === 'number' ? facts.openedAt : facts.state === 'closed' ? null : at,
      probeStartedAt: typeof facts.probeStartedAt === 'number' ? facts.probeStartedAt : null,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

interface RestoreRegistry {
  /** Restored states, applied to every breaker an environment creates afterwards. */
  seeds: Map<string, CircuitBreakerJSON>;
  /** Live environments, to apply a restore to breakers they already made. */
  environments: Set<WeakRef<{ restoreBreakers(states: readonly CircuitBreakerJSON[]): void }>>;
}

// Process-wide (machine files create their own environments, possibly through a second copy of
// this module): `restoreBreakers(store)` reaches every environment of the process.
const registry = ((globalThis as Record<symbol, unknown>)[Symbol.for('spine.llm.breakerRestore')] ??= {
  seeds: new Map(),
  environments: new Set(),
}) as RestoreRegistry;

/** @internal Called by `createLlmEnvironment`: the seed for a new breaker, when one was restored. */
export function restoredSeed(name: string): CircuitBreakerJSON | undefined {
  return registry.seeds.get(name);
}

/** @internal Called by `createLlmEnvironment` so a later `restoreBreakers` reaches it. */
export function trackEnvironment(environment: { restoreBreakers(states: readonly CircuitBreakerJSON[]): void }): void {
  registry.environments.add(new WeakRef(environment));
}

/**
 * Restores every circuit breaker of this process from a store's journals: call it when a host
 * starts, before `runtime.start()` (the `spine` commands that host do). Environments created
 * afterwards start from the restored states too; ones that exist already have theirs replaced.
 * Returns the states restored.
 *
 * @example
 * ```ts
 * const store = await SqliteStore.open('.spine/spine.db');
 * await restoreBreakers(store); // a provider that was failing before the restart stays open
 * await createRuntime({ store, machines }).start();
 * ```
 */
export async function restoreBreakers(store: BreakerJournalSource): Promise<CircuitBreakerJSON[]> {
  const states = await readBreakerStates(store);
  for (const state of states) registry.seeds.set(state.name, state);
  for (const ref of registry.environments) {
    const environment = ref.deref();
    if (environment) environment.restoreBreakers(states);
    else registry.environments.delete(ref);
  }
  return states;
}
