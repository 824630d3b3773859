import type { Clock } from '../clock.js';
import { SpineError } from '../errors.js';
import type { MachineRegistry } from '../MachineRegistry.js';
import type { RunFork, Store } from '../Store.js';
import { cancelRun, type CancelRunOptions } from './cancelRun.js';
import { forkRun, type ForkRunOptions } from './forkRun.js';
import { moveActorToVersion, type MoveActorOptions, type MoveActorResult } from './moveActorToVersion.js';
import { retryRun, type RetryOutcome, type RetryRunOptions } from './retryRun.js';

export { afterTimers, resolveDelay } from './afterTimers.js';
export type { DelayResolver } from './afterTimers.js';
export { cancelRun } from './cancelRun.js';
export type { CancelRunOptions } from './cancelRun.js';
export { forkRun, readForkInputs } from './forkRun.js';
export type { ForkRunOptions } from './forkRun.js';
export { planFork } from './planFork.js';
export type { ForkInputs, ForkPlanOptions } from './planFork.js';
export { planRunStop } from './planRunStop.js';
export type { RunStopInputs, RunStopOptions } from './planRunStop.js';
export { planRetry } from './planRetry.js';
export type { RetryInputs, RetryPlan } from './planRetry.js';
export { retryRun } from './retryRun.js';
export type { RetryOutcome, RetryRunOptions } from './retryRun.js';
export { activePaths, moveActorToVersion, planVersionMove } from './moveActorToVersion.js';
export type { MoveActorOptions, MoveActorResult } from './moveActorToVersion.js';

type Bound<T> = Omit<T, 'store' | 'registry' | 'clock'>;

/**
 * Run control by people and tools, over one store: fork a run from a past step, cancel it,
 * retry a failed step, move an actor to another machine version. Each reads, plans with a
 * pure function (`planFork`, `planRunStop`, `planRetry`, `planVersionMove`) and writes the
 * plan in one store transaction. `runtime.control` is one bound to a host, which then
 * looks for the new work at once.
 */
export interface Control {
  /** Forks a run from one of its past steps (see `forkRun`). */
  fork(runId: string, options: Bound<ForkRunOptions>): Promise<RunFork>;
  /** Cancels a run (see `cancelRun`); returns the stopped actor ids. */
  cancel(runId: string, options: Bound<CancelRunOptions>): Promise<string[]>;
  /** Retries a run's failed step (see `retryRun`). */
  retry(runId: string, options?: Bound<RetryRunOptions>): Promise<RetryOutcome>;
  /** Moves a running actor to another version of its machine (see `moveActorToVersion`). */
  moveVersion(actorId: string, options?: Bound<MoveActorOptions>): Promise<MoveActorResult>;
}

/**
 * Binds run control to a store (and the machines and clock of the process, when it has
 * them); `afterChange` runs after a fork or a retry wrote new work (a host looks for it).
 *
 * @example
 * const control = createControl({ store });
 * await control.cancel('run-1', { reason: 'not needed', by: 'ana' });
 */
export function createControl(parts: { store: Store; registry?: MachineRegistry; clock?: Clock; afterChange?: () => Promise<void> }): Control {
  const { store, registry } = parts;
  const common = { store, ...(registry ? { registry } : {}), ...(parts.clock ? { clock: parts.clock } : {}) };
  const changed = async () => parts.afterChange?.();
  return {
    async fork(runId, options) {
      const fork = await forkRun(runId, { ...options, ...common });
      await changed();
      return fork;
    },
    cancel: (runId, options) => cancelRun(runId, { ...options, ...common }),
    async retry(runId, options = {}) {
      const outcome = await retryRun(runId, { ...options, ...common });
      await changed();
      return outcome;
    },
    async moveVersion(actorId, options = {}) {
      if (!registry) throw new SpineError('unknown_machine', `Moving actor '${actorId}' to another version needs the machines it runs; this process has none loaded.`, { actorId });
      return moveActorToVersion(actorId, { ...options, store, registry, ...(parts.clock ? { clock: parts.clock } : {}) });
    },
  };
}
