// An activity's result and the step it causes, committed in one round trip. The pipelined group
// commit reads first (the actors' seq, owner and snapshot, the jobs' owner and attempt, the
// mailboxes) and writes once it has decided: two round trips. When the store itself committed the
// actor's previous step, it knows the snapshot the new history row is a delta against, so nothing
// needs reading: BEGIN, a guard that locks the rows and checks every condition the reads would
// have checked, the writes and COMMIT leave in one write. A failed condition fails the guard,
// which aborts the transaction (COMMIT then rolls it back), and the two-round-trip path decides
// the precise outcome.
import type { BatchEntry, BatchResult, JobCompletion, StepCommit } from '@spine/runtime/store';

/** What the store knows of an actor after committing its step: the base of the next step's history delta. */
export interface CommitBase {
  seq: number;
  snapshot: string;
  runId: string;
}

/**
 * The seq, snapshot and run of the actors this store committed lately, most recent last, at
 * most `max`. An actor's snapshot at a seq never changes (every write of a snapshot moves the
 * seq, under the seq's condition), so an entry is right whenever its seq is the one a step
 * expects; the guard checks that seq under the row's lock.
 */
export class CommitBases {
  readonly #bases = new Map<string, CommitBase>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The actor's base when the store knows its snapshot at `seq`. */
  at(actorId: string, seq: number): CommitBase | undefined {
    const base = this.#bases.get(actorId);
    return base?.seq === seq ? base : undefined;
  }

  /** Notes a committed step: an active actor's next step has this base; a finished one has none. */
  committed(step: StepCommit, runId: string): void {
    this.#bases.delete(step.actorId);
    if (step.status !== 'active') return;
    if (this.#bases.size >= this.#max) this.#bases.delete(this.#bases.keys().next().value!);
    this.#bases.set(step.actorId, { seq: step.expectedSeq + 1, snapshot: step.snapshot, runId });
  }

  forget(actorId: string): void {
    this.#bases.delete(actorId);
  }
}

/** One entry of a one-trip commit: a result, the step applying it directly, and that step's base. */
export interface TripEntry {
  completion: JobCompletion & { attempt: number };
  step: StepCommit;
  base: CommitBase;
}

/**
 * The entries as a one-trip commit, or undefined when one of them needs reading first: every
 * entry must apply an activity's result directly (`eventId: null`) with a step whose base is
 * known, fenced by attempt (what tells the result's own commit apart after a lost answer), on
 * distinct actors and jobs. `plain` says whether the pipelined path could take the entry at all
 * (no stops, approvals to cancel, audit rows or dead letters).
 */
export function tripEntries(entries: BatchEntry[], bases: CommitBases, plain: (entry: BatchEntry) => boolean): TripEntry[] | undefined {
  const trip: TripEntry[] = [];
  const actors = new Set<string>();
  const jobs = new Set<string>();
  for (const entry of entries) {
    const { completion, step } = entry;
    if (!completion || !step || step.eventId !== null || completion.attempt === undefined || !plain(entry)) return undefined;
    if (actors.has(step.actorId) || jobs.has(completion.key)) return undefined;
    const base = bases.at(step.actorId, step.expectedSeq);
    if (!base) return undefined;
    actors.add(step.actorId);
    jobs.add(completion.key);
    trip.push({ completion: completion as TripEntry['completion'], step, base });
  }
  return trip.length ? trip : undefined;
}

/**
 * The guard of a one-trip commit, one statement: locks the steps' actors (in id order) and the
 * results' jobs (in key order), as the pipelined reads do, and divides by zero (aborting the
 * transaction) unless every actor is active at its expected seq and owned at its fence's epoch,
 * every job is running for the result's owner and attempt, and no actor has an earlier event
 * waiting in its mailbox. It answers with the transaction id, what to ask about if COMMIT goes
 * unanswered (see `Reconnect.committed`).
 */
export const TRIP_GUARD = `WITH
  a AS MATERIALIZED (SELECT id, seq, status, owner, owner_epoch FROM actors WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE),
  j AS MATERIALIZED (SELECT key, status, owner, attempts FROM jobs WHERE key = ANY($5::text[]) ORDER BY key FOR UPDATE)
  SELECT txid_current() AS xid, 1 / (
      (SELECT COUNT(*) FROM a JOIN unnest($1::text[], $2::int[], $3::text[], $4::int[]) AS w(id, seq, owner, epoch)
         ON a.id = w.id AND a.seq = w.seq AND a.status = 'active' AND (w.owner IS NULL OR (a.owner = w.owner AND a.owner_epoch = w.epoch))) = cardinality($1::text[])
      AND (SELECT COUNT(*) FROM j JOIN unnest($5::text[], $6::text[], $7::int[]) AS c(key, owner, attempt)
         ON j.key = c.key AND j.status = 'running' AND j.owner = c.owner AND j.attempts = c.attempt) = cardinality($5::text[])
      AND NOT EXISTS (SELECT 1 FROM events e JOIN unnest($1::text[], $8::bigint[]) AS w(actor_id, due_at) ON e.actor_id = w.actor_id AND e.due_at <= w.due_at)
    )::int AS guard`;

export function guardValues(trip: TripEntry[]): unknown[] {
  return [
    trip.map((t) => t.step.actorId),
    trip.map((t) => t.step.expectedSeq),
    trip.map((t) => t.step.fence?.owner ?? null),
    trip.map((t) => t.step.fence?.epoch ?? null),
    trip.map((t) => t.completion.key),
    trip.map((t) => t.completion.owner),
    trip.map((t) => t.completion.attempt),
    trip.map((t) => t.completion.event.dueAt),
  ];
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
  return [trip.map((t) => t.completion.key), trip.map((t) => t.completion.status), trip.map((t) => t.completion.owner), trip.map((t) => t.completion.attempt)];
}

/**
 * The results of a batch whose one-trip commit had an unknown outcome, after the general path ran
 * it again (taking the rows' locks, so the lost transaction had ended or can no longer commit): an
 * entry the second run refused is committed after all when its job is finished by its attempt.
 */
export function settleLost(results: BatchResult[], finished: Set<string>, trip: TripEntry[]): BatchResult[] {
  return results.map((result, i) => (result.ok || !finished.has(trip[i]!.completion.key) ? result : { ok: true }));
}
