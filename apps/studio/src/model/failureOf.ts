import type { ActorJson, JobJson, RunSummary } from '@spine/server/protocol';

/** Why a run did not succeed, in words for its header; `tone: 'failed'` lights its state red. */
export interface RunFailure {
  title: string;
  reason: string;
  tone: 'failed' | 'ended';
}

const FAILED_OUTCOMES = new Set(['failed', 'error', 'errored', 'stopped', 'needs_human', 'budget_exceeded']);
const UNSUCCESSFUL = new Set(['rejected', 'declined', 'expired', 'cancelled']);

/**
 * A run's failure, read from its status, its output (`status`, `reason`, `error`) and its
 * failed activity calls, so a person never has to open an event's JSON to learn why.
 * Undefined for a run that is active or succeeded.
 */
export function failureOf(run: RunSummary, root: ActorJson | undefined, jobs: readonly JobJson[]): RunFailure | undefined {
  const lastJobError = [...jobs].reverse().find((j) => j.status === 'failed' && j.error != null)?.error;
  if (run.status === 'error') return { title: 'Failed', reason: run.error ?? messageOf(lastJobError) ?? 'no reason was recorded', tone: 'failed' };
  if (run.status === 'stopped') return { title: 'Stopped', reason: run.error ?? 'cancelled before it finished', tone: 'ended' };
  if (run.status !== 'done' || !root) return undefined;
  const output = root.output as { status?: unknown; reason?: unknown; error?: unknown } | null | undefined;
  if (!output || typeof output !== 'object') return undefined;
  const status = typeof output.status === 'string' ? output.status : undefined;
  const reason = messageOf(output.reason) ?? messageOf(output.error);
  if (status && FAILED_OUTCOMES.has(status)) return { title: `Failed (${status.replace(/_/g, ' ')})`, reason: reason ?? messageOf(lastJobError) ?? 'no reason was recorded', tone: 'failed' };
  if (status && UNSUCCESSFUL.has(status)) return { title: `Ended: ${status}`, reason: reason ?? '', tone: 'ended' };
  if (!status && output.error != null) return { title: 'Ended with an error', reason: reason ?? '', tone: 'failed' };
  return undefined;
}

function messageOf(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    const { message, kind } = value as { message: string; kind?: unknown };
    return typeof kind === 'string' && !message.includes(kind) ? `${message} (${kind})` : message;
  }
  return JSON.stringify(value);
}
