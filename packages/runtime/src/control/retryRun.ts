import { systemClock, type Clock } from '../clock.js';
import { SpineError } from '../errors.js';
import type { MachineRegistry } from '../MachineRegistry.js';
import type { HistoryRecord, RunFork, Store } from '../Store.js';
import { forkRun } from './forkRun.js';
import { isBackingOff, planRetry } from './planRetry.js';

/** Options of `retryRun`. */
export interface RetryRunOptions {
  store: Store;
  /** The job to retry (default: the newest failed or backing-off one, then a failed actor's step). */
  jobKey?: string;
  /** Passed to `forkRun` when the retry forks. */
  registry?: MachineRegistry;
  newRunId?: string;
  by?: string;
  clock?: Clock;
}

/** What a retry did: the job runs now, or the run was forked (see `planRetry`). */
export type RetryOutcome = { mode: 'now'; jobKey: string } | { mode: 'fork'; jobKey: string | null; fork: RunFork };

/**
 * Retries a run's failed step (see `planRetry`): reschedules a backing-off job to run now,
 * or forks the run from the step before the failure was applied.
 *
 * @throws SpineError `unknown_run`, `unknown_job`, `nothing_to_retry`, or `conflict` when the
 * job stopped waiting meanwhile.
 * @example
 * const outcome = await retryRun('run-1', { store, registry, by: 'ana' });
 */
export async function retryRun(runId: string, options: RetryRunOptions): Promise<RetryOutcome> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const root = await store.getActor(runId);
  if (!root || root.runId !== runId) throw new SpineError('unknown_run', `No run with id '${runId}'.`, { actorId: runId });
  const now = clock.now();
  const [jobs, failedActors] = await Promise.all([store.listJobs({ runId }), store.listActors({ runId, status: ['error'], limit: 1000 })]);
  // Histories of the actors a retry may fork from: the chosen (or newest failed) job's, and each failed actor's.
  const candidate = options.jobKey ? jobs.find((j) => j.key === options.jobKey) : [...jobs].reverse().find((j) => j.status === 'failed' || isBackingOff(j, now));
  const histories = new Map<string, HistoryRecord[]>();
  for (const actorId of new Set([...(candidate?.status === 'failed' ? [candidate.actorId] : []), ...(candidate ? [] : failedActors.map((a) => a.id))])) {
    histories.set(actorId, await store.history(actorId));
  }
  const plan = planRetry({ runId, jobs, failedActors, histories }, { ...(options.jobKey ? { jobKey: options.jobKey } : {}), now });
  if (plan.mode === 'now') {
    if (!(await store.rescheduleJob(plan.jobKey, now))) throw new SpineError('conflict', `Job '${plan.jobKey}' is no longer waiting to retry.`, { actorId: runId });
    return plan;
  }
  const fork = await forkRun(runId, {
    store,
    actorId: plan.actorId,
    seq: plan.seq,
    clock,
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.newRunId ? { newRunId: options.newRunId } : {}),
    ...(options.by ? { by: options.by } : {}),
  });
  return { mode: 'fork', jobKey: plan.jobKey, fork };
}
