import { systemClock, type Clock } from '../clock.js';
import { SpineError } from '../errors.js';
import type { Store } from '../Store.js';
import { planRunStop } from './planRunStop.js';

/** Options of `cancelRun`. */
export interface CancelRunOptions {
  store: Store;
  /** Why: kept on the history rows, dead letters and audit rows. */
  reason: string;
  /** Who cancels, for the audit log (default `system`). */
  by?: string;
  clock?: Clock;
}

/** How many times a stop is planned again when the run moved while it was being stopped. */
const ATTEMPTS = 8;

/**
 * Cancels a run: stops every active actor and its open work (see `planRunStop`) in one
 * transaction. A run that takes a step (or has an approval decided) while it is being
 * stopped is read and planned again. Returns the stopped actor ids, none when the run
 * had already finished.
 *
 * @throws SpineError `unknown_run`; `conflict` when the run kept moving on every attempt.
 * @example
 * const stopped = await cancelRun('run-1', { store, reason: 'not needed', by: 'ana' });
 */
export async function cancelRun(runId: string, options: CancelRunOptions): Promise<string[]> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const root = await store.getActor(runId, { snapshot: false });
  if (!root || root.runId !== runId) throw new SpineError('unknown_run', `No run with id '${runId}'.`, { actorId: runId });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [actors, approvals] = await Promise.all([store.listActors({ runId, status: ['active'], limit: 100_000 }), store.listApprovals({ runId, status: ['pending'], limit: 100_000 })]);
    const stop = planRunStop({ runId, actors, approvals }, { reason: options.reason, now: clock.now(), ...(options.by ? { by: options.by } : {}) });
    if (!stop) return [];
    if (await store.stopRun(stop)) return stop.actors.map((a) => a.actorId);
  }
  throw new SpineError('conflict', `Run '${runId}' kept taking steps while it was being cancelled; nothing was stopped. Try again.`, { actorId: runId });
}
