// An activity's result and the step it causes (or a step consuming a mailbox event), committed in
// one round trip. The pipelined group commit reads first (the actors' seq, owner and snapshot, the
// jobs' owner and attempt, the mailboxes) and writes once it has decided: two round trips and a
// statement per kind of row. When the store itself committed the actor's previous step (or created
// it), it knows the snapshot the new history row is a delta against, so nothing needs reading: one
// statement, its own transaction, finishes the jobs, consumes the events, writes the actors,
// history rows and new jobs, each write conditional as the
// reads would have checked, and divides by zero (rolling all of it back) unless every condition
// held. The two-round-trip path then decides the precise outcome. One statement is also one
// answer from the server: what a step costs on a machine where every wake-up is expensive.
import type { BatchEntry, BatchResult, CommitBase, CommitBases, JobCompletion, StepCommit } from '@spine/runtime/store';

/** The type prefix of a child's `done` event (an activity's result among them). */
const CHILD_DONE = 'xstate.done.actor.';

/**
 * One entry of a one-trip commit and that step's base: a result and the step applying it directly,
 * or (no `completion`) a step consuming the mailbox event `step.eventId`.
 */
export interface TripEntry {
  completion?: JobCompletion & { attempt: number };
  step: StepCommit;
  base: CommitBase;
}

/**
 * The entries as a one-trip commit, or undefined when one of them needs reading first or writes
 * rows the statement does not: every entry must either apply an activity's result directly
 * (`eventId: null`), fenced by attempt (what tells the result's own commit apart after a lost
 * answer), or consume a mailbox event with no result; its step's base must be known; entries are on
 * distinct actors and jobs; and the step may only write its actor, its history row, cancel its
 * invokes' jobs and create jobs (no messages, timers, children, approvals, stops, audit rows or
 * dead letters). A step consuming a `done` event of a child (maybe an activity's result that had to
 * wait in the mailbox, whose output the general path reads to share it with the job's row) is left
 * to the general path, so a history row is the same bytes whichever path wrote it.
 */
export function tripEntries(entries: BatchEntry[], bases: CommitBases): TripEntry[] | undefined {
  const trip: TripEntry[] = [];
  const actors = new Set<string>();
  const jobs = new Set<string>();
  for (const { completion, step, create } of entries) {
    if (!step || create) return undefined;
    if (completion ? step.eventId !== null || completion.attempt === undefined || completion.audit?.length : step.eventId === null || step.history.eventType.startsWith(CHILD_DONE)) return undefined;
    if (step.messages.length || step.cancelTimers.length || step.spawn.length || step.stop.length || step.deadLetters.length) return undefined;
    if (step.approvals?.length || step.cancelApprovals?.length || step.audit?.length) return undefined;
    if (actors.has(step.actorId) || (completion && jobs.has(completion.key))) return undefined;
    const base = bases.at(step.actorId, step.expectedSeq);
    if (!base) return undefined;
    actors.add(step.actorId);
    if (completion) jobs.add(completion.key);
    trip.push({ ...(completion ? { completion: completion as TripEntry['completion'] } : {}), step, base });
  }
  return trip.length ? trip : undefined;
}

/**
 * The one statement of a one-trip commit (`feedFenceLock` takes the history feed's fence, its key
 * as `$34`). Each write carries its conditions, checked on the newest row under its lock as any
 * UPDATE's: a job is finished only while it runs for the result's owner and attempt, an actor is
 * written only while active at the expected seq and owned at its fence's epoch, a mailbox event
 * consumed only while it is still in its actor's mailbox. The answer divides by zero unless every
 * job, actor and event was written and no actor applying a result has an earlier event waiting in
 * its mailbox; the error rolls the whole statement back. Cancels leave the results'
 * own jobs alone (finished here; one statement must not write a row twice) and, as every
 * statement's reads, do not see the jobs it creates. Its answer comes once it committed: a lost
 * answer is told by the jobs (`FINISHED_BY`) or, for a mailbox step, by its history row
 * (`STEPPED_AS`), there being no transaction id to ask about.
 */
export function tripCommitSql(feedFenceLock: string): string {
  return `WITH
  finished AS (
    UPDATE jobs j SET status = c.status, output = c.output, error = c.error, journal = c.journal, finished_at = c.finished_at
    FROM unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[], $19::int[]) AS c(status, output, error, journal, finished_at, key, owner, attempt)
    WHERE j.key = c.key AND j.status = 'running' AND j.owner = c.owner AND j.attempts = c.attempt
    RETURNING j.key),
  stepped AS (
    UPDATE actors a SET seq = u.seq, status = u.status, snapshot = u.snapshot, state_value = u.state_value, output = u.output, error = u.error, updated_at = u.updated_at
    FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[])
      AS u(id, expected, owner, epoch, seq, status, snapshot, state_value, output, error, updated_at)
    WHERE a.id = u.id AND a.seq = u.expected AND a.status = 'active' AND (u.owner IS NULL OR (a.owner = u.owner AND a.owner_epoch = u.epoch))
    RETURNING a.id),
  history_rows AS (
    INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key)
    SELECT actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key
    FROM unnest($21::text[], $22::text[], $23::int[], $24::text[], $25::text[], $26::text[], $27::text[], $28::text[], $29::bigint[], $30::bigint[], $31::boolean[], $32::bytea[], $33::text[])
      WITH ORDINALITY AS h(actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key, ord)
      CROSS JOIN ${feedFenceLock}
    ORDER BY ord),
  cancelled AS (
    UPDATE jobs j SET status = 'cancelled', finished_at = c.at FROM unnest($35::bigint[], $36::text[], $37::text[]) AS c(at, actor_id, child_id)
    WHERE j.actor_id = c.actor_id AND j.child_id = c.child_id AND j.status IN ('pending', 'held', 'running') AND j.key <> ALL($17::text[])),
  created AS (
    INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at)
    SELECT key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at
    FROM unnest($38::text[], $39::text[], $40::text[], $41::text[], $42::text[], $43::text[], $44::text[], $45::text[], $46::int[], $47::bigint[], $48::bigint[], $49::bigint[]) WITH ORDINALITY
      AS j(key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at, ord)
    ORDER BY ord),
  consumed AS (
    DELETE FROM events e USING unnest($50::text[], $51::bigint[]) AS m(actor_id, id) WHERE e.id = m.id AND e.actor_id = m.actor_id RETURNING e.id)
  SELECT 1 / (
      (SELECT COUNT(*) FROM finished) = cardinality($17::text[]) AND (SELECT COUNT(*) FROM stepped) = cardinality($1::text[])
      AND (SELECT COUNT(*) FROM consumed) = cardinality($51::bigint[])
      AND NOT EXISTS (SELECT 1 FROM events e JOIN unnest($52::text[], $20::bigint[]) AS w(actor_id, due_at) ON e.actor_id = w.actor_id AND e.due_at <= w.due_at)
    )::int AS ok`;
}

/**
 * A one-entry trip with at most one job created and one invoke's jobs cancelled (what a run stepping
 * alone commits at every step) as a statement of its own, with scalar parameters: the same writes
 * and conditions as `tripCommitSql`'s for that entry, without `unnest`. On PostgreSQL 15 each
 * multi-array `unnest` costs a function scan that materializes its columns (measured with EXPLAIN
 * ANALYZE: most of the array statement's execution time for a single entry), and its generic plan
 * found the result's job through `jobs_open` (every running job) instead of by key. One named
 * statement per shape (result or mailbox event, job or none, cancel or none). Undefined for any
 * other trip: the array statement takes it.
 */
export function tripOneStatement(trip: TripEntry[], finished: unknown[][], history: unknown[][], feedKey: number, feedFenceLock: (param: string) => string): { name: string; text: string; values: unknown[] } | undefined {
  if (trip.length !== 1) return undefined;
  const { completion, step } = trip[0]!;
  if (step.jobs.length > 1 || step.cancelJobs.length > 1) return undefined;
  const values: unknown[] = [];
  const $ = (value: unknown, type: string) => `$${values.push(value)}::${type}`;
  const fence = step.fence;
  const id = $(step.actorId, 'text');
  const parts: string[] = [];
  const checks: string[] = [];
  if (completion) {
    const [status, output, error, journal, finishedAt, key, owner, attempt] = finished[0]!;
    parts.push(`finished AS (UPDATE jobs SET status = ${$(status, 'text')}, output = ${$(output, 'text')}, error = ${$(error, 'text')}, journal = ${$(journal, 'text')}, finished_at = ${$(finishedAt, 'bigint')}
      WHERE key = ${$(key, 'text')} AND status = 'running' AND owner = ${$(owner, 'text')} AND attempts = ${$(attempt, 'int')} RETURNING key)`);
    checks.push('(SELECT COUNT(*) FROM finished) = 1', `NOT EXISTS (SELECT 1 FROM events e WHERE e.actor_id = ${id} AND e.due_at <= ${$(completion.event.dueAt, 'bigint')})`);
  }
  parts.push(`stepped AS (UPDATE actors SET seq = ${$(step.expectedSeq + 1, 'int')}, status = ${$(step.status, 'text')}, snapshot = ${$(step.snapshot, 'text')}, state_value = ${$(step.stateValue, 'text')}, output = ${$(step.output, 'text')}, error = ${$(step.error, 'text')}, updated_at = ${$(step.history.startedAt, 'bigint')}
      WHERE id = ${id} AND seq = ${$(step.expectedSeq, 'int')} AND status = 'active'${fence ? ` AND owner = ${$(fence.owner, 'text')} AND owner_epoch = ${$(fence.epoch, 'int')}` : ''} RETURNING id)`);
  checks.push('(SELECT COUNT(*) FROM stepped) = 1');
  const h = history[0]!;
  const types = ['text', 'text', 'int', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'boolean', 'bytea', 'text'];
  const row = h.map((value, i) => $(value, types[i]!)).join(', ');
  parts.push(`history_rows AS (INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key)
      SELECT ${row} FROM ${feedFenceLock($(feedKey, 'int'))})`);
  if (step.cancelJobs.length) {
    parts.push(`cancelled AS (UPDATE jobs SET status = 'cancelled', finished_at = ${$(step.history.startedAt, 'bigint')}
      WHERE actor_id = ${id} AND child_id = ${$(step.cancelJobs[0], 'text')} AND status IN ('pending', 'held', 'running')${completion ? ` AND key <> ${$(completion.key, 'text')}` : ''})`);
  }
  if (step.jobs.length) {
    const jobTypes = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'int', 'bigint', 'bigint', 'bigint'];
    const job = createdJobValues(step.jobs[0]!, step.history.startedAt).map((value, i) => $(value, jobTypes[i]!)).join(', ');
    parts.push(`created AS (INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at) VALUES (${job}))`);
  }
  if (step.eventId !== null) {
    parts.push(`consumed AS (DELETE FROM events WHERE id = ${$(step.eventId, 'bigint')} AND actor_id = ${id} RETURNING id)`);
    checks.push('(SELECT COUNT(*) FROM consumed) = 1');
  }
  const shape = `${completion ? 'r' : 'm'}${step.jobs.length}${step.cancelJobs.length}${fence ? 'f' : ''}`;
  return { name: `spine_trip_one_${shape}`, text: `WITH\n  ${parts.join(',\n  ')}\n  SELECT 1 / (${checks.join(' AND ')})::int AS ok`, values };
}

/** A job a step creates, as both statements insert it: claimed by its host (`running`, first attempt) unless held or left pending. */
function createdJobValues(job: StepCommit['jobs'][number], at: number): unknown[] {
  const claimed = Boolean(job.claimedBy && !job.held);
  return [job.key, job.actorId, job.runId, job.childId, job.src, job.input, claimed ? 'running' : job.held ? 'held' : 'pending', claimed ? job.claimedBy : null, claimed ? 1 : 0, job.runAt, at, claimed ? at : null];
}

/**
 * The statement's values. `finished` and `history` are the job completions (of the entries that
 * have one, in order) and each entry's history row as the store's other paths write them
 * (`finishJobValues`, `historyValues`).
 */
export function tripCommitValues(trip: TripEntry[], finished: unknown[][], history: unknown[][], feedKey: number): unknown[] {
  const steps = trip.map((t) => t.step);
  const direct = trip.filter((t) => t.completion);
  const mailbox = steps.filter((st) => st.eventId !== null);
  const cancels = steps.flatMap((st) => st.cancelJobs.map((childId) => [st.history.startedAt, st.actorId, childId]));
  const jobs = steps.flatMap((st) => st.jobs.map((job) => createdJobValues(job, st.history.startedAt)));
  return [
    ...columns(steps.map((st) => [st.actorId, st.expectedSeq, st.fence?.owner ?? null, st.fence?.epoch ?? null, st.expectedSeq + 1, st.status, st.snapshot, st.stateValue, st.output, st.error, st.history.startedAt]), 11),
    ...columns(finished, 8),
    direct.map((t) => t.completion!.event.dueAt),
    ...columns(history, 13),
    feedKey,
    ...columns(cancels, 3),
    ...columns(jobs, 12),
    mailbox.map((st) => st.actorId),
    mailbox.map((st) => st.eventId),
    direct.map((t) => t.step.actorId),
  ];
}

/** Rows to the column arrays `unnest` takes (`width` empty arrays for no rows). */
function columns(rows: unknown[][], width: number): unknown[][] {
  return Array.from({ length: width }, (_, i) => rows.map((row) => row[i]));
}

/**
 * Which results' jobs are finished by the very attempts they report: after a one-trip commit
 * whose answers were all lost (no transaction id to ask about), what tells that it committed.
 * Only a transaction carrying that result finishes its job for that owner and attempt (a job
 * claimed again counts another attempt, and a finished job is never claimed again).
 */
export const FINISHED_BY = `SELECT j.key FROM jobs j JOIN unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS c(key, status, owner, attempt)
  ON j.key = c.key AND j.status = c.status AND j.owner = c.owner AND j.attempts = c.attempt`;

export function finishedByValues(trip: TripEntry[]): unknown[] {
  const direct = trip.flatMap((t) => (t.completion ? [t.completion] : []));
  return [direct.map((c) => c.key), direct.map((c) => c.status), direct.map((c) => c.owner), direct.map((c) => c.attempt)];
}

/**
 * Which steps consuming a mailbox event are stored as this trip wrote them: the history row at
 * their seq has the step's own start time, duration and body. After a lost answer, what tells a
 * mailbox step's commit apart from another host's step at the same seq (that host took the actor
 * over, then stepped it at the same millisecond, as long to the microsecond, to the same body).
 */
export const STEPPED_AS = `SELECT h.actor_id FROM history h JOIN unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bytea[]) AS w(actor_id, seq, started_at, duration_us, body)
  ON h.actor_id = w.actor_id AND h.seq = w.seq AND h.started_at = w.started_at AND h.duration_us = w.duration_us AND h.body = w.body`;

/** `STEPPED_AS`'s values for the trip's mailbox steps, from the history rows it wrote (`historyValues`: actor 0, seq 2, started_at 8, duration 9, body 11). */
export function steppedAsValues(trip: TripEntry[], history: unknown[][]): unknown[] {
  const rows = history.filter((_, i) => !trip[i]!.completion);
  return [rows.map((h) => h[0]), rows.map((h) => h[2]), rows.map((h) => h[8]), rows.map((h) => h[9]), rows.map((h) => h[11])];
}

/**
 * The results of a batch whose one-trip commit had an unknown outcome, after the general path ran
 * it again (taking the rows' locks, so the lost transaction had ended or can no longer commit): an
 * entry the second run refused is committed after all when its job is finished by its attempt, or
 * (a mailbox step) when its history row is the one the trip wrote.
 */
export function settleLost(results: BatchResult[], finished: Set<string>, stepped: Set<string>, trip: TripEntry[]): BatchResult[] {
  return results.map((result, i) => {
    if (result.ok) return result;
    const { completion, step } = trip[i]!;
    return (completion ? finished.has(completion.key) : stepped.has(step.actorId)) ? { ok: true } : result;
  });
}
