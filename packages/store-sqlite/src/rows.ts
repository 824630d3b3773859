import type { ActorRow, HistoryRowColumns, JobRow, StoredText } from '@spine/runtime/store';
// The SQLite-only row shapes; the rows both stores share and their converters are the runtime's
// (`@spine/runtime/store`, storeRows.ts).

export type { ActorRow, EventRow, JobRow, DeadLetterRow, ApprovalRow, DecisionRow, AuditRow } from '@spine/runtime/store';
export { createdActor, stepHistory, toActor, toEvent, toJob, toHistory, toDeadLetter, toApproval, toDecision, toAudit } from '@spine/runtime/store';

/** A history row as SqliteStore reads it. */
export interface HistorySqlRow extends HistoryRowColumns {
  /** The encoded event and snapshot (schema 4 on); see `encodeHistoryStep`. */
  body?: Uint8Array;
  /** The output of the job the body refers to (`job_key`), if any, as stored (packed against the job's input). */
  shared?: StoredText | null;
  /** The job the body refers to (schema 4 on). */
  job_key?: string | null;
  /** That job's input as stored. */
  shared_input?: StoredText | null;
  /** Schema 3 and before kept the event and snapshot whole (read only when such a file is opened read-only). */
  event?: string;
  snapshot?: string;
}

export interface CancelledApproval {
  id: string;
  run_id: string;
  actor_id: string;
  src: string;
  job_key: string;
}

/** A job row as stored: input, output and journal may be packed (`unpackJobTexts` restores them). */
export type StoredJobRow = Omit<JobRow, 'input' | 'output' | 'journal'> & { input: StoredText; output: StoredText | null; journal: StoredText };

/** An actor row as stored: a finished actor's snapshot may be `SNAPSHOT_IN_HISTORY`. */
export type StoredActorRow = Omit<ActorRow, 'snapshot'> & { snapshot: StoredText | null };

/**
 * What a finished actor's row keeps as its snapshot (schema 6): its last history row (the one at the
 * actor's seq) holds the same snapshot, so the row refers to it instead of keeping a second copy.
 * A blob, so it never equals a snapshot text.
 */
export const SNAPSHOT_IN_HISTORY = Buffer.of(0x48);
