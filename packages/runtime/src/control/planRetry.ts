import { SpineError } from '../errors.js';
import type { ActorRecord, HistoryRecord, JobRecord } from '../Store.js';

/** What a retry is planned from, read once by `retryRun`. */
export interface RetryInputs {
  runId: string;
  /** Every job of the run, oldest first. */
  jobs: JobRecord[];
  /** The run's actors in status `error`. */
  failedActors: ActorRecord[];
  /** The history of each actor a retry may fork from (the job's actor, the failed actors). */
  histories: ReadonlyMap<string, HistoryRecord[]>;
}

/** What a retry does: run a backing-off job now, or fork the run from the step before a failure was applied. */
export type RetryPlan = { mode: 'now'; jobKey: string } | { mode: 'fork'; jobKey: string | null; actorId: string; seq: number };

/**
 * Plans retrying a run's failed step (pure). A job waiting out a back-off runs now. A
 * job that failed for good has already been applied to the machine, and durable history
 * is never rewritten: the run is forked from the step before the failure was applied,
 * which requests the activity again in the new run. Without a job, an actor that failed
 * in a step is forked from the step before. With `jobKey`, that job; else the newest
 * failed or backing-off job, then the failed actors.
 *
 * @throws SpineError `unknown_job` for a `jobKey` the run does not have; `nothing_to_retry`
 * when nothing failed (or the failure has not been applied yet).
 */
export function planRetry(inputs: RetryInputs, options: { jobKey?: string; now: number }): RetryPlan {
  const { runId, jobs } = inputs;
  let job: JobRecord | undefined;
  if (options.jobKey) {
    job = jobs.find((j) => j.key === options.jobKey);
    if (!job) throw new SpineError('unknown_job', `Run '${runId}' has no job '${options.jobKey}'.`, { actorId: runId });
  } else {
    job = [...jobs].reverse().find((j) => j.status === 'failed' || isBackingOff(j, options.now));
  }
  if (job?.status === 'pending') return { mode: 'now', jobKey: job.key };
  if (job) {
    if (job.status !== 'failed') throw new SpineError('nothing_to_retry', `Job '${job.key}' is ${job.status}; only failed or backing-off jobs can be retried.`, { actorId: job.actorId });
    const childId = job.childId;
    const applied = firstStep(inputs.histories.get(job.actorId), (h) => h.eventType === `xstate.error.actor.${childId}`);
    if (!applied) throw new SpineError('nothing_to_retry', `The failure of job '${job.key}' has not been applied yet; it will arrive as a step.`, { actorId: job.actorId });
    return { mode: 'fork', jobKey: job.key, actorId: job.actorId, seq: applied - 1 };
  }
  for (const actor of inputs.failedActors) {
    const failed = firstStep(inputs.histories.get(actor.id), (h) => h.status === 'error');
    if (failed && failed > 1) return { mode: 'fork', jobKey: null, actorId: actor.id, seq: failed - 1 };
  }
  throw new SpineError('nothing_to_retry', `Run '${runId}' has no failed step: no failed or backing-off job and no failed actor.`, { actorId: runId });
}

/** A job whose failed attempt waits out a durable back-off. */
export function isBackingOff(job: JobRecord, now: number): boolean {
  return job.status === 'pending' && job.attempts > 0 && job.runAt > now;
}

/** The seq of an actor's first step matching `test`. */
function firstStep(history: HistoryRecord[] | undefined, test: (h: HistoryRecord) => boolean): number | undefined {
  return history?.find(test)?.seq;
}
