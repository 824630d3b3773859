// The SQL rows both stores read (the same columns in SQLite and PostgreSQL) and their conversion to
// the Store contract's records. Integer columns arrive as numbers: PostgresStore parses BIGINT to a
// number before a row gets here. Engine-specific columns (history bodies, old layouts) are the stores' own.
import { SpineError } from './errors.js';
import type { ActorRecord, BatchEntry, NewActor, MailboxEvent, JobRecord, HistoryRecord, HistoryRow, ApprovalRecord, AuditEntry, DeadLetter, DecisionRecord, JobStatus, StepCommit } from './Store.js';

// The records built on every step and run start are written field by field, not as
// `{ ...record, added }`, and in one key order (toActor's): a spread site that sees objects of
// several shapes takes V8's (Node 20) slow path, and did on the step path: the actor record
// rebuilt after each commit cost 3.3 µs spread against 0.9 µs written out (measured in place,
// between marks around the line, on the activity workflow).


export interface ActorRow {
  id: string;
  run_id: string;
  parent_id: string | null;
  child_key: string | null;
  machine: string;
  version: string;
  seq: number;
  status: ActorRecord['status'];
  snapshot: string | null;
  state_value: string | null;
  output: string | null;
  error: string | null;
  owner: string | null;
  /** Absent on a read-only database older than schema version with leases. */
  owner_epoch?: number;
  created_at: number;
  updated_at: number;
}

/** The row `createActors` writes for a new actor: no step yet, active, fencing token 0, created at `now`. */
export function createdActor(actor: NewActor, now: number): ActorRecord {
  const { id, runId, parentId, childKey, machine, version, owner } = actor;
  return { id, runId, parentId, childKey, machine, version, seq: 0, status: 'active', snapshot: null, stateValue: null, output: null, error: null, owner, ownerEpoch: 0, createdAt: now, updatedAt: now };
}

/**
 * Refuses (`invalid_input`) a batch entry that creates an actor (`BatchEntry.create`) with anything
 * but that actor's first step: seq 0, no mailbox event, no job completion. Both stores check it
 * before writing anything of the batch's entry.
 */
export function checkCreateEntry({ create, step, completion }: BatchEntry): void {
  if (create && (!step || completion || step.eventId !== null || step.expectedSeq !== 0 || step.actorId !== create.id)) {
    throw new SpineError('invalid_input', `A batch entry that creates actor '${create.id}' takes that actor's first step (seq 0, no mailbox event) and nothing else.`);
  }
}

/** An actor's record once a step of it committed: the new seq, and the snapshot, state, status, output and error the step wrote. */
export function advancedActor(record: ActorRecord, step: Pick<StepCommit, 'status' | 'snapshot' | 'stateValue' | 'output' | 'error'>, seq: number, updatedAt: number): ActorRecord {
  return {
    id: record.id,
    runId: record.runId,
    parentId: record.parentId,
    childKey: record.childKey,
    machine: record.machine,
    version: record.version,
    seq,
    status: step.status,
    snapshot: step.snapshot,
    stateValue: step.stateValue,
    output: step.output,
    error: step.error,
    owner: record.owner,
    ownerEpoch: record.ownerEpoch,
    createdAt: record.createdAt,
    updatedAt,
  };
}

/** The history row a committed step writes: its `history` with the actor's run, the new seq, snapshot, state and status. */
export function stepHistory(step: Pick<StepCommit, 'actorId' | 'history' | 'snapshot' | 'stateValue' | 'status'>, runId: string, seq: number): HistoryRecord {
  const { eventType, event, version, emitted, startedAt, durationUs } = step.history;
  return { actorId: step.actorId, runId, seq, eventType, event, stateValue: step.stateValue, snapshot: step.snapshot, status: step.status, version, emitted, startedAt, durationUs };
}

export function toActor(r: ActorRow): ActorRecord {
  return {
    id: r.id,
    runId: r.run_id,
    parentId: r.parent_id,
    childKey: r.child_key,
    machine: r.machine,
    version: r.version,
    seq: r.seq,
    status: r.status,
    snapshot: r.snapshot,
    stateValue: r.state_value,
    output: r.output,
    error: r.error,
    owner: r.owner,
    ownerEpoch: r.owner_epoch ?? 0,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface EventRow {
  id: number;
  actor_id: string;
  type: string;
  event: string;
  due_at: number;
  send_id: string | null;
  source: string;
  created_at: number;
}

export function toEvent(r: EventRow): MailboxEvent {
  return { id: r.id, actorId: r.actor_id, type: r.type, event: r.event, dueAt: r.due_at, sendId: r.send_id, source: r.source, createdAt: r.created_at };
}

export interface JobRow {
  key: string;
  actor_id: string;
  run_id: string;
  child_id: string;
  src: string;
  input: string;
  status: JobStatus;
  attempts: number;
  run_at: number;
  owner: string | null;
  output: string | null;
  error: string | null;
  journal: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export function toJob(r: JobRow): JobRecord {
  return {
    key: r.key,
    actorId: r.actor_id,
    runId: r.run_id,
    childId: r.child_id,
    src: r.src,
    input: r.input,
    status: r.status,
    attempts: r.attempts,
    runAt: r.run_at,
    owner: r.owner,
    output: r.output,
    error: r.error,
    journal: r.journal,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** The columns of a history row both stores read alike; each store adds how its body is kept. */
export interface HistoryRowColumns {
  row_id: number;
  actor_id: string;
  run_id: string;
  seq: number;
  event_type: string;
  state_value: string;
  status: HistoryRecord['status'];
  version: string;
  emitted: string | null;
  started_at: number;
  duration_us: number;
}

/** A history row's record, given its event and snapshot as the store decoded them. */
export function toHistory(r: HistoryRowColumns, event: string, snapshot: string): HistoryRecord {
  return {
    actorId: r.actor_id,
    runId: r.run_id,
    seq: r.seq,
    eventType: r.event_type,
    event,
    stateValue: r.state_value,
    snapshot,
    status: r.status,
    version: r.version,
    emitted: r.emitted,
    startedAt: r.started_at,
    durationUs: r.duration_us,
  };
}

/** `toHistory` with the row's id, for the readers in commit order. */
export function toHistoryRow(r: HistoryRowColumns, event: string, snapshot: string): HistoryRow {
  return { ...toHistory(r, event, snapshot), rowId: r.row_id };
}

export interface DeadLetterRow {
  id: number;
  actor_id: string;
  event: string;
  reason: string;
  issues: string | null;
  source: string;
  created_at: number;
}

export function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return { id: r.id, actorId: r.actor_id, event: r.event, reason: r.reason, issues: r.issues, source: r.source, createdAt: r.created_at };
}

export interface ApprovalRow {
  id: string;
  run_id: string;
  actor_id: string;
  job_key: string;
  child_id: string;
  src: string;
  machine: string;
  version: string;
  seq: number;
  tier: ApprovalRecord['tier'];
  status: ApprovalRecord['status'];
  proposal: string;
  rationale: string;
  requested_at: number;
  deadline_at: number | null;
  on_deadline: ApprovalRecord['onDeadline'];
  escalated_at: number | null;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
  edited_input: string | null;
  signature: string | null;
}

export function toApproval(r: ApprovalRow): ApprovalRecord {
  return {
    id: r.id,
    runId: r.run_id,
    actorId: r.actor_id,
    jobKey: r.job_key,
    childId: r.child_id,
    src: r.src,
    machine: r.machine,
    version: r.version,
    seq: r.seq,
    tier: r.tier,
    status: r.status,
    proposal: r.proposal,
    rationale: r.rationale,
    requestedAt: r.requested_at,
    deadlineAt: r.deadline_at,
    onDeadline: r.on_deadline,
    escalatedAt: r.escalated_at,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    reason: r.reason,
    editedInput: r.edited_input,
    signature: r.signature,
  };
}

export interface DecisionRow {
  id: number;
  approval_id: string;
  payload: string;
  signature: string;
  status: DecisionRecord['status'];
  created_at: number;
}

export function toDecision(r: DecisionRow): DecisionRecord {
  return { id: r.id, approvalId: r.approval_id, payload: r.payload, signature: r.signature, status: r.status, createdAt: r.created_at };
}

export interface AuditRow {
  seq: number;
  at: number;
  run_id: string | null;
  actor_id: string | null;
  kind: AuditEntry['kind'];
  who: string;
  subject: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

export function toAudit(r: AuditRow): AuditEntry {
  return { seq: r.seq, at: r.at, runId: r.run_id, actorId: r.actor_id, kind: r.kind, who: r.who, subject: r.subject, detail: r.detail, prevHash: r.prev_hash, hash: r.hash };
}
