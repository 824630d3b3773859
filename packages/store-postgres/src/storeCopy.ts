import type { ActorRecord, ApprovalRecord, AuditEntry, DeadLetter, DecisionRecord, HistoryRecord, JobRecord, MailboxEvent } from '@spine/runtime/store';

/**
 * Everything a Spine database holds, as read through the Store's own readers, for
 * `PostgresStore.importCopy` (`spine copy`). Rows are in the source's order: history
 * in commit order, events and dead letters by id, audit by seq.
 */
export interface StoreCopy {
  machineVersions: { machine: string; version: string; definition: string; createdAt: number }[];
  actors: ActorRecord[];
  /** Every stored event, timers included; new ids are given in this order. */
  events: MailboxEvent[];
  history: HistoryRecord[];
  jobs: JobRecord[];
  approvals: ApprovalRecord[];
  decisions: DecisionRecord[];
  audit: AuditEntry[];
  deadLetters: DeadLetter[];
}

/** What `importCopy` wrote. */
export interface CopyCounts {
  machineVersions: number;
  actors: number;
  events: number;
  history: number;
  jobs: number;
  approvals: number;
  decisions: number;
  audit: number;
  deadLetters: number;
}
