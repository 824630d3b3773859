import type { JobJson, PartialJson } from '@spine/server/protocol';

/**
 * The partial output to show for a job: while it runs (or its stored row still says so), the text its
 * current attempt has written so far; none once the committed result or a retry is known.
 */
export function livePartial(job: JobJson, partial: PartialJson | undefined): PartialJson | undefined {
  if (!partial) return undefined;
  if (job.status === 'running') return partial.ended && partial.attempt < job.attempts ? undefined : partial;
  return job.status === 'pending' && !partial.ended ? partial : undefined;
}
