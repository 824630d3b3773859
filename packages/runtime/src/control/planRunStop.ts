import type { ActorRecord, ApprovalRecord, NewAuditEntry, RunStop } from '../Store.js';

/** What stopping a run is planned from: its active actors and their pending approvals, as read. */
export interface RunStopInputs {
  runId: string;
  /** The run's active actors. */
  actors: ActorRecord[];
  /** Pending approvals of those actors. */
  approvals: ApprovalRecord[];
}

/** Why and by whom a run is stopped. */
export interface RunStopOptions {
  /** Kept on the history rows, dead letters and audit rows. */
  reason: string;
  /** Who stopped it, for the audit log (default `system`). */
  by?: string;
  now: number;
}

/**
 * Plans stopping a run (pure; `Store.stopRun` writes it): every active actor goes to
 * `stopped`, a started one with a `spine.run.cancelled` step (seq + 1, its snapshot
 * unchanged) so a host still holding the old seq is fenced off; its open jobs are
 * cancelled, its pending approvals cancelled (`approval.cancelled`, who = `by`), what
 * is left in its mailbox dead-lettered, and a `run.cancelled` row names who stopped it
 * and which actors. Undefined when the run has no active actor (nothing to write).
 */
export function planRunStop(inputs: RunStopInputs, options: RunStopOptions): RunStop | undefined {
  const { runId } = inputs;
  const { reason, now } = options;
  const by = options.by ?? 'system';
  if (!inputs.actors.length) return undefined;
  const event = JSON.stringify({ type: 'spine.run.cancelled', reason });
  const ordered = [...inputs.actors].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const actors = ordered.map((a) => ({
    actorId: a.id,
    expectedSeq: a.seq,
    history:
      a.snapshot === null
        ? null
        : {
            actorId: a.id,
            runId,
            seq: a.seq + 1,
            eventType: 'spine.run.cancelled',
            event,
            stateValue: a.stateValue ?? 'null',
            snapshot: a.snapshot,
            status: 'stopped' as const,
            version: a.version,
            emitted: null,
            startedAt: now,
            durationUs: 0,
          },
  }));
  const stopping = new Set(actors.map((a) => a.actorId));
  const approvals = inputs.approvals.filter((p) => p.status === 'pending' && stopping.has(p.actorId));
  const audit: NewAuditEntry[] = approvals.map((p) => ({
    at: now,
    runId: p.runId,
    actorId: p.actorId,
    kind: 'approval.cancelled',
    who: by,
    subject: p.id,
    detail: JSON.stringify({ src: p.src, jobKey: p.jobKey, reason: `the run was cancelled: ${reason}` }),
  }));
  audit.push({ at: now, runId, actorId: runId, kind: 'run.cancelled', who: by, subject: runId, detail: JSON.stringify({ reason, stopped: actors.map((a) => a.actorId) }) });
  return {
    runId,
    at: now,
    actors,
    approvals: approvals.map((p) => p.id),
    deadLetterReason: `Run '${runId}' was cancelled (${reason}) before this event was applied.`,
    audit,
  };
}
