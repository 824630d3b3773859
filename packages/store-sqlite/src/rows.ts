import type { HistoryRowColumns } from '@spine/runtime/store';
// The SQLite-only row shapes; the rows both stores share and their converters are the runtime's
// (`@spine/runtime/store`, storeRows.ts).

export type { ActorRow, EventRow, JobRow, DeadLetterRow, ApprovalRow, DecisionRow, AuditRow } from '@spine/runtime/store';
export { toActor, toEvent, toJob, toHistory, toDeadLetter, toApproval, toDecision, toAudit } from '@spine/runtime/store';

/** A history row as SqliteStore reads it. */
export interface HistorySqlRow extends HistoryRowColumns {
  /** The encoded event and snapshot (schema 4 on); see `encodeHistoryStep`. */
  body?: Uint8Array;
  /** The output of the job the body refers to (`job_key`), if any. */
  shared?: string | null;
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
