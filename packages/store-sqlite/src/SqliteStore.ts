// SqliteStore: the five store roles over one better-sqlite3 connection. It is long because one
// class holds the connection, the transactions that span roles (a step writes actors, events,
// jobs, history, approvals and audit at once) and the prepared statements they share; the rows'
// shapes live in rows.ts, opening and migrating a file in databaseFile.ts, storage errors in
// storageErrors.ts, the audit anchor in auditAnchor.ts and the wake file in WakeFile.ts.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  auditHash,
  DEFAULT_LEASE_MS,
  encodeHistoryStep,
  GENESIS_HASH,
  HistoryDecoder,
  MIN_PACKED_CHARS,
  packJobJournal,
  packJobOutput,
  packPayload,
  SpineError,
  unpackJobOutput,
  unpackJobTexts,
  type StoredText,
  type ActorQuery,
  type ActorRecord,
  type CreatedActors,
  type QueuedEvent,
  type ApprovalQuery,
  type ApprovalRecord,
  type ApprovalResolution,
  type ActorStatus,
  type AuditEntry,
  type AuditQuery,
  type AuditVerification,
  type DecisionRecord,
  type NewApproval,
  type NewAuditEntry,
  type NewDecision,
  type BatchEntry,
  type BatchResult,
  type CommitResult,
  type DeadLetter,
  type HistoryRecord,
  type HistoryRow,
  type HostRecord,
  type JobCompletion,
  type JobRecord,
  type JobRetry,
  type JobStatus,
  type MailboxEvent,
  type NewActor,
  type NewDeadLetter,
  type NewEvent,
  type OpenWork,
  type RunFork,
  type RunStats,
  type StepCommit,
  type RunStop,
  type StoredHistoryBody,
  type Store,
  type VersionMove,
  type DeadLetterRetention,
  crashInBatchHook,
  checkCreateEntry,
  CommitBases,
  type CommitBase,
} from '@spine/runtime/store';
import { anchorSecret, verifyAnchoredAudit, writeAuditAnchor } from './auditAnchor.js';
import { createdActor, stepHistory, toActor, toApproval, toAudit, toDeadLetter, toDecision, toEvent, toHistory, toJob, type ApprovalRow, type AuditRow, type CancelledApproval, type DeadLetterRow, type DecisionRow, type EventRow, type HistorySqlRow, type StoredActorRow, type StoredJobRow, SNAPSHOT_IN_HISTORY } from './rows.js';
import { checkSpineDatabase, inspectFile, migrate, refuseUrlPath, sqliteAddon } from './databaseFile.js';
import { deadLetterRetention, insertBoundedDeadLetter } from './deadLetterRetention.js';
import { checkPagesAtOpen, foundCorrupt, markClosedCleanly, reportStorageErrors, toStorageError } from './storageErrors.js';
import { WakeFile } from './WakeFile.js';
import { BACKSTOP_FRAMES, Checkpointer } from './Checkpointer.js';

/** Options of `SqliteStore.open`. */
export interface SqliteStoreOptions {
  /**
   * `NORMAL` (default) survives a process crash: a commit is in the WAL before
   * `commitStep` returns. `FULL` also survives power loss (fsync per commit).
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** Milliseconds to wait for a lock held by another process (default 5000). */
  busyTimeoutMs?: number;
  /** Open without writing anything; migrations are not applied. */
  readonly?: boolean;
  /** Injected clock for created/updated times (default Date.now). */
  now?: () => number;
  /** How much refused input is kept (see `DeadLetterRetention`; defaults: 2 KiB preview, 1000 per actor, 10,000 in all). */
  deadLetters?: Partial<DeadLetterRetention>;
  /** The secret that signs the audit anchor (default: `SPINE_SECRET`, else the `<db>.secret` file, created 0600 if missing). */
  secret?: string;
  /**
   * Page size, in bytes, of a database this store creates (a power of two from 512 to 65536;
   * default {@link DEFAULT_PAGE_SIZE}). An existing database keeps the page size it was made with.
   */
  pageSize?: number;
}

/**
 * The page size of a new database. A step changes about ten pages (its actor, its history row,
 * its jobs and their indexes) by a few hundred bytes each, and WAL mode writes every changed page
 * whole: 2 KiB pages write half the bytes per commit (and checksum half), measured 5-8% more steps
 * per second on the 20-step activity workflow than SQLite's 4 KiB default, and the same file size.
 */
export const DEFAULT_PAGE_SIZE = 2048;

/** A run's jobs (one parameter, the run id), found through its actors: jobs keep no index of their own on run_id (migration 7). */
const JOBS_OF_RUN = 'actor_id IN (SELECT id FROM actors WHERE run_id = ?)';

/**
 * The condition a step's actor update ends with (two parameters: the actor id, then a due time or null):
 * no event of the actor due by then waits in its mailbox. Null (a mailbox event's step) never finds one.
 */
const NO_DUE_EVENT = 'NOT EXISTS (SELECT 1 FROM events WHERE actor_id = ? AND due_at <= ?)';

/** The mailbox source of an activity's result event: `activity:<job key>` (see ActivityRunner). */
const ACTIVITY_SOURCE = 'activity:';
/** Shorter outputs are cheaper copied than referred to. */
const MIN_SHARED_OUTPUT = 64;

/** Step transactions (single or batched) after which a host's connection hands checkpoints to a thread (see Checkpointer). */
const CHECKPOINTER_AFTER = 64;

/** Thrown inside a run-control transaction whose fence failed: rolls it back; the method returns false. */
class Fenced extends Error {}

class Rollback extends Error {
  constructor(readonly reason: 'conflict' | 'consumed' | 'queued' | 'fenced') {
    super(reason);
  }
}

/** Undoes a resolution whose approval or job moved on meanwhile. */
class Stale extends Error {}

/** What a step reads of its actor before writing it, when this store does not know it (see `CommitBases`). */
interface ActorBase {
  run_id: string;
  snapshot: string | null;
  owner: string | null;
  owner_epoch: number;
  seq: number;
  status: ActorStatus;
}

/**
 * The embedded default store: one SQLite file in WAL mode. Safe for several
 * processes on one machine (each step is one IMMEDIATE transaction).
 *
 * @example
 * const store = await SqliteStore.open('.spine/spine.db');
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly path: string;
  readonly #now: () => number;
  readonly #s: ReturnType<typeof prepare>;
  readonly #commitTx: (step: StepCommit) => CommitResult;
  readonly #batchTx: (entries: BatchEntry[]) => BatchResult[];
  /** Nested in `#batchTx`, so a savepoint: one entry's refusal undoes only that entry. */
  readonly #entryTx: (entry: BatchEntry) => BatchResult;
  /** A step inside an entry's savepoint: refused alone, the entry keeps its result. */
  readonly #stepTx: (step: StepCommit, direct: DirectResult) => CommitResult;
  /** A batch of one entry, without savepoints (see `commitBatch`). */
  readonly #loneTx: (entry: BatchEntry) => BatchResult;
  /** `createActors`: every run's start writes through it, so it is made once (better-sqlite3 builds four functions per transaction). */
  readonly #createTx: (actors: NewActor[], events: NewEvent[]) => CreatedActors;
  /** `enqueueIfActive`: whether an event of the actor is due already, and the insert, in one transaction. */
  readonly #enqueueIfActiveTx: (event: NewEvent) => QueuedEvent | undefined;
  readonly #crashInBatch = crashInBatchHook();
  readonly #synchronous: 'NORMAL' | 'FULL';
  /** Started once this connection committed `CHECKPOINTER_AFTER` steps' transactions: a command or a short test never starts a thread. */
  #checkpointer: Checkpointer | undefined;
  #commits = 0;

  readonly #retention: DeadLetterRetention;
  readonly #secret: () => string | undefined;
  /** Remembers each recently read actor's latest decoded snapshot: history rows are deltas against it. */
  readonly #decoder = new HistoryDecoder();
  /** Finished actors' snapshots read from their last history row, by `id#seq` (such a row never changes again); the latest 256. */
  readonly #finished = new Map<string, string>();
  /** The actors this store created or stepped lately, at their seq: a step of theirs at that seq reads nothing before its write. */
  readonly #bases = new CommitBases();
  /** What the transaction under way wrote to `#bases` once it commits (steps, and actors created). */
  #written: ({ step: StepCommit; runId: string } | { created: NewActor })[] = [];

  private constructor(db: Database.Database, path: string, now: () => number, options: SqliteStoreOptions = {}) {
    this.#retention = deadLetterRetention(options.deadLetters);
    this.#secret = anchorSecret(path, options.secret, !options.readonly);
    this.db = db;
    this.path = path;
    this.#now = now;
    this.#synchronous = options.synchronous ?? 'NORMAL';
    this.#s = prepare(db);
    this.#commitTx = db.transaction((step: StepCommit) => this.#commit(step)).immediate as unknown as (step: StepCommit) => CommitResult;
    this.#batchTx = db.transaction((entries: BatchEntry[]) => this.#batch(entries)).immediate as unknown as (entries: BatchEntry[]) => BatchResult[];
    this.#entryTx = db.transaction((entry: BatchEntry) => this.#entry(entry));
    this.#stepTx = db.transaction((step: StepCommit, direct: DirectResult) => this.#commit(step, direct));
    this.#loneTx = db.transaction((entry: BatchEntry) => this.#entry(entry, true)).immediate as unknown as (entry: BatchEntry) => BatchResult;
    this.#createTx = db.transaction((actors: NewActor[], events: NewEvent[]): CreatedActors => {
      const now = this.#now();
      for (const actor of actors) this.#insertActor(actor, now);
      const eventIds = events.map((event) => this.#insertEvent(event, now));
      return { actors: actors.map((actor) => createdActor(actor, now)), eventIds };
    }).immediate as unknown as (actors: NewActor[], events: NewEvent[]) => CreatedActors;
    this.#enqueueIfActiveTx = db.transaction((event: NewEvent) => {
      const first = !this.#s.hasDueEvent.get(event.actorId, event.dueAt);
      const inserted = this.#s.insertEventIfActive.run(event.actorId, event.type, event.event, event.dueAt, event.sendId ?? null, event.source, this.#now(), event.actorId);
      return inserted.changes ? { id: Number(inserted.lastInsertRowid), first } : undefined;
    }).immediate as unknown as (event: NewEvent) => QueuedEvent | undefined;
  }

  /**
   * Opens (or creates) a Spine database. A file that is not SQLite, is corrupt,
   * or is some other application's SQLite database is refused before anything
   * is written to it.
   */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    return SqliteStore.openSync(path, options);
  }

  /** Synchronous `open`, for benchmarks and tools. */
  static openSync(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    refuseUrlPath(path);
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      throw new SpineError('store_refused', `Cannot open '${path}': pageSize must be a power of two from 512 to 65536 bytes, got ${JSON.stringify(options.pageSize)}.`);
    }
    const memory = path === ':memory:';
    const exists = !memory && existsSync(path) && statSync(path).size > 0;
    if (exists) inspectFile(path);
    else if (!memory && !options.readonly) mkdirSync(dirname(path), { recursive: true });
    if (options.readonly && !exists && !memory) {
      throw new SpineError('store_refused', `No Spine database at '${path}'.`);
    }
    let db: Database.Database;
    try {
      const nativeBinding = sqliteAddon();
      db = new Database(path, { readonly: Boolean(options.readonly), fileMustExist: Boolean(options.readonly), ...(nativeBinding ? { nativeBinding } : {}) });
    } catch (error) {
      const classified = toStorageError(error, path);
      throw classified !== error ? classified : new SpineError('store_refused', `Cannot open '${path}': ${(error as Error).message}`, { cause: error });
    }
    try {
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      // Statement journals in memory: a group commit opens a savepoint per entry, and SQLite
      // otherwise spills each one past 64 KiB to a temporary file that then takes every page
      // the batch's later entries change (one write per page) until the transaction ends.
      db.pragma('temp_store = MEMORY');
      if (exists) checkSpineDatabase(db, path);
      // The check guards writes: a read-only store (`spine runs` beside a live host, whose log makes
      // every open check, would read the whole file) meets a damaged page on the read that touches it.
      if (exists && !options.readonly) checkPagesAtOpen(db, path);
      if (!options.readonly) {
        // Only an empty database takes a page size (before WAL mode writes its first page).
        if (!exists) db.pragma(`page_size = ${pageSize}`);
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
        db.pragma('foreign_keys = OFF');
        migrate(db, anchorSecret(path, options.secret, true));
      }
    } catch (error) {
      db.close();
      throw toStorageError(error, path);
    }
    return new SqliteStore(db, path, options.now ?? Date.now, options);
  }

  // ---- machine versions ---------------------------------------------------------

  async saveMachineVersion(machine: string, version: string, definition: string): Promise<void> {
    if (this.#s.getVersion.get(machine, version)) return;
    this.db.transaction(() => {
      const now = this.#now();
      const previous = this.#s.lastVersionOf.get(machine) as { version: string } | undefined;
      if (this.#s.insertVersion.run(machine, version, definition, now).changes === 0) return;
      // A new machine version is a governance event: who runs what changes from here on.
      this.#appendAudit([{ at: now, runId: null, actorId: null, kind: 'machine.version', who: 'system', subject: `${machine}@${version}`, detail: JSON.stringify({ machine, version, previous: previous?.version ?? null }) }]);
    }).immediate();
  }

  async getMachineVersion(machine: string, version: string): Promise<string | undefined> {
    return (this.#s.getVersion.get(machine, version) as { definition: string } | undefined)?.definition;
  }

  async listMachineVersions(machine?: string): Promise<{ machine: string; version: string; createdAt: number }[]> {
    const rows = (machine ? this.#s.listVersionsOf.all(machine) : this.#s.listVersions.all()) as { machine: string; version: string; created_at: number }[];
    return rows.map((r) => ({ machine: r.machine, version: r.version, createdAt: r.created_at }));
  }

  async moveActorVersion(move: VersionMove): Promise<boolean> {
    const s = this.#s;
    return this.#fenced(() => {
      const seq = move.history ? move.history.seq : move.expectedSeq;
      if (s.moveActor.run(move.to, seq, move.at, move.actorId, move.expectedSeq, move.from).changes === 0) throw new Fenced();
      if (move.history) this.#insertHistory(move.history, this.#snapshotOf(move.actorId));
      if (move.audit?.length) this.#appendAudit(move.audit);
    });
  }

  // ---- actors -------------------------------------------------------------------

  async createActors(actors: NewActor[], events: NewEvent[]): Promise<CreatedActors> {
    const created = this.#createTx(actors, events);
    for (const actor of actors) this.#bases.created(actor.id, actor.runId);
    return created;
  }

  async getActor(id: string, options: { snapshot?: boolean } = {}): Promise<ActorRecord | undefined> {
    const row = this.#s.getActor.get(id) as StoredActorRow | undefined;
    if (!row) return undefined;
    return options.snapshot === false ? toActor({ ...row, snapshot: null }) : this.#actor(row);
  }

  async listActors(query: ActorQuery = {}): Promise<ActorRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.rootsOnly) where.push('parent_id IS NULL');
    if (query.runId) {
      where.push('run_id = ?');
      params.push(query.runId);
    }
    if (query.status?.length) {
      where.push(`status IN (${query.status.map(() => '?').join(', ')})`);
      params.push(...query.status);
    }
    if (query.after) {
      where.push('created_at <= ? AND (created_at < ? OR id > ?)');
      params.push(query.after.createdAt, query.after.createdAt, query.after.id);
    }
    // Runs newest first walk the roots index and stop at the limit, instead of sorting every run.
    const from = query.rootsOnly && !query.runId ? 'actors INDEXED BY actors_roots' : 'actors';
    const sql = `SELECT * FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    params.push(query.limit ?? 1000);
    const rows = this.db.prepare(sql).all(...params) as StoredActorRow[];
    return query.snapshots === false ? rows.map((row) => toActor({ ...row, snapshot: null })) : rows.map((row) => this.#actor(row));
  }

  async childrenOf(parentId: string): Promise<{ id: string; childKey: string; machine: string; seq: number }[]> {
    return (this.#s.children.all(parentId) as { id: string; child_key: string; machine: string; seq: number }[]).map((r) => ({
      id: r.id,
      childKey: r.child_key,
      machine: r.machine,
      seq: r.seq,
    }));
  }

  async openWorkOf(actorIds: string[]): Promise<OpenWork[]> {
    const s = this.#s;
    // One read transaction, so the three lists agree with each other.
    return this.db.transaction(() =>
      actorIds.map((actorId) => ({
        actorId,
        jobs: (s.openJobsOf.all(actorId) as { key: string; child_id: string; status: JobStatus }[]).map((j) => ({ key: j.key, childId: j.child_id, status: j.status })),
        approvals: (s.pendingApprovalsOf.all(actorId) as { id: string; run_id: string; child_id: string; src: string; job_key: string }[]).map((a) => ({
          id: a.id,
          runId: a.run_id,
          childId: a.child_id,
          src: a.src,
          jobKey: a.job_key,
        })),
        timers: (s.timersOf.all(actorId) as { send_id: string }[]).map((t) => t.send_id),
      })),
    )();
  }

  // ---- mailbox ------------------------------------------------------------------

  async enqueue(events: NewEvent[]): Promise<number[]> {
    if (events.length === 1) return [this.#insertEvent(events[0]!, this.#now())];
    return this.db.transaction(() => {
      const now = this.#now();
      return events.map((e) => this.#insertEvent(e, now));
    }).immediate();
  }

  async enqueueIfActive(event: NewEvent): Promise<QueuedEvent | undefined> {
    return this.#enqueueIfActiveTx(event);
  }

  async nextEvents(actorId: string, now: number, limit: number): Promise<MailboxEvent[]> {
    return (this.#s.nextEvents.all(actorId, now, limit) as EventRow[]).map(toEvent);
  }

  async discardEvent(eventId: number, deadLetter: NewDeadLetter): Promise<void> {
    this.db.transaction(() => {
      if (this.#s.deleteEvent.run(eventId).changes) this.#insertDeadLetter(deadLetter, this.#now());
    }).immediate();
  }

  async commitStep(step: StepCommit): Promise<CommitResult> {
    try {
      const result = this.#commitTx(step);
      this.#committed();
      return result;
    } catch (error) {
      this.#rolledBack();
      if (error instanceof Rollback && error.reason !== 'queued') return { ok: false, reason: error.reason };
      throw error;
    }
  }

  readonly createsWithStep = true;

  async commitBatch(entries: BatchEntry[]): Promise<BatchResult[]> {
    if (!entries.length) return [];
    if (entries.length === 1) {
      // A lone entry (a run stepping alone) needs no savepoints: each costs its statements and a
      // copy of every page it touches in the statement journal. Anything refused undoes it all,
      // and the savepoint way below then decides the precise outcome.
      try {
        const result = this.#loneTx(entries[0]!);
        this.#committed();
        return [result];
      } catch (error) {
        this.#rolledBack();
        if (!(error instanceof Rollback) && !isContentError(error)) throw error;
      }
    }
    let results: BatchResult[];
    try {
      results = this.#batchTx(entries);
    } catch (error) {
      this.#rolledBack();
      throw error;
    }
    this.#committed();
    return results;
  }

  /** The transaction that wrote `#written` was undone: what it would have taught `#bases` is forgotten. */
  #rolledBack(): void {
    for (const written of this.#written) this.#bases.forget('step' in written ? written.step.actorId : written.created.id);
    this.#written = [];
  }

  /** Steps are committed here: their bases are kept, and the WAL is checkpointed on the checkpointer's thread (see Checkpointer), not inside later commits. */
  #committed(): void {
    for (const written of this.#written) {
      if ('step' in written) this.#bases.committed(written.step, written.runId);
      else this.#bases.created(written.created.id, written.created.runId);
    }
    this.#written = [];
    if (!this.#checkpointer) {
      if (++this.#commits !== CHECKPOINTER_AFTER || this.#synchronous !== 'NORMAL' || this.db.memory || this.db.readonly || !this.db.open) return;
      // Past the commit: a thread that cannot start (or dies) leaves checkpoints where SQLite does them.
      try {
        this.#checkpointer = new Checkpointer(this.path, this.#synchronous, () => {
          try {
            if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
          } catch {
            // closing: nothing to checkpoint for
          }
        });
        this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_FRAMES}`);
      } catch {
        return;
      }
    }
    this.#checkpointer.written();
  }

  #batch(entries: BatchEntry[]): BatchResult[] {
    const results: BatchResult[] = [];
    for (const [index, entry] of entries.entries()) {
      if (this.#crashInBatch && index === entries.length >> 1) this.#crashInBatch(entries.length);
      try {
        results.push(this.#entryTx(entry));
      } catch (error) {
        // Only a refusal for what the entry contains is the entry's alone; anything else
        // (I/O, a lock, SQLite having rolled the transaction back) fails the whole batch.
        if (error instanceof Rollback && !entry.completion) results.push({ ok: false, reason: error.reason });
        else if (isContentError(error) && this.db.inTransaction) results.push({ ok: false, reason: 'failed', error: error as Error });
        else throw error;
      }
    }
    return results;
  }

  /**
   * One entry's writes. `lone`: the entry is its transaction's only one, written without savepoints;
   * a step refused after its result was journaled then throws, undoing the whole transaction, and
   * the caller writes the entry again the savepoint way, which keeps the result.
   */
  #entry({ completion, step, create }: BatchEntry, lone = false): BatchResult {
    const now = this.#now();
    if (create) {
      checkCreateEntry({ completion, step, create });
      this.#insertActor(create, now);
      const written = this.#written.length;
      // A new actor has no mailbox yet: its first event is applied as it was given.
      const result = this.#commit(step!, { dueAt: now, source: create.id, output: null }, { seq: 0, snapshot: null, runId: create.runId });
      this.#written.splice(written, 0, { created: create }); // taught first: the step's seq then replaces it
      return result;
    }
    if (completion) {
      if (!this.#completeJob(completion, now)) return { ok: false, reason: this.#jobTakenOver(completion) ? 'refused' : 'cancelled' };
      if (completion.audit?.length) this.#appendAudit(completion.audit);
    }
    if (!step) {
      if (completion) this.#insertEvent(completion.event, now);
      return { ok: true };
    }
    if (!completion) return this.#commit(step);
    // The output just written to the job row, which the step's history row refers to instead of copying.
    const direct = { dueAt: completion.event.dueAt, source: completion.event.source, output: completion.status === 'done' ? completion.output : null };
    // The step applies the completion's event, not a mailbox row (the runtime says so with `eventId: null`).
    const applied = step.eventId === null ? step : { ...step, eventId: null };
    if (lone) return this.#commit(applied, direct);
    try {
      return this.#stepTx(applied, direct);
    } catch (error) {
      // The step is refused but the result is kept: it waits in the mailbox like any other event.
      if (!(error instanceof Rollback) && !(isContentError(error) && this.db.inTransaction)) throw error;
      this.#insertEvent(completion.event, now);
      return { ok: false, reason: error instanceof Rollback ? error.reason : 'queued' };
    }
  }

  /** Writes a step. `direct`: an activity result applied without the mailbox (its due time, source and the job's output). */
  #commit(step: StepCommit, direct?: DirectResult, created?: CommitBase): CommitResult {
    const s = this.#s;
    const now = step.history.startedAt;
    const seq = step.expectedSeq + 1;
    // The snapshot being replaced is the base of this step's history delta: known when this store
    // wrote it (the update below holds only at that seq, as for an actor this entry created), else read before the update.
    const known = created ?? this.#bases.at(step.actorId, step.expectedSeq);
    const before = known ? undefined : (s.getRunId.get(step.actorId) as ActorBase | undefined);
    const { fence } = step;
    // A step that stays active leaves `status` out of its SET: SQLite rewrites every index on a
    // column a SET names, changed or not (`actors_parent` would cost a page per step).
    const stays = step.status === 'active';
    // A result applied directly (no mailbox row): only when nothing older waits in the mailbox, which the update checks.
    const applied = step.eventId === null;
    if (applied && direct === undefined) throw new Rollback('queued');
    const dueAt = applied ? direct!.dueAt : null;
    // A finished actor's snapshot is the one its history row at this seq keeps (written below).
    const updated = fence
      ? stays
        ? s.advanceOwnedActor.run(seq, step.snapshot, step.stateValue, step.output, step.error, now, step.actorId, step.expectedSeq, fence.owner, fence.epoch, step.actorId, dueAt)
        : s.updateOwnedActor.run(seq, step.status, SNAPSHOT_IN_HISTORY, step.stateValue, step.output, step.error, now, step.actorId, step.expectedSeq, fence.owner, fence.epoch, step.actorId, dueAt)
      : stays
        ? s.advanceActor.run(seq, step.snapshot, step.stateValue, step.output, step.error, now, step.actorId, step.expectedSeq, step.actorId, dueAt)
        : s.updateActor.run(seq, step.status, SNAPSHOT_IN_HISTORY, step.stateValue, step.output, step.error, now, step.actorId, step.expectedSeq, step.actorId, dueAt);
    if (updated.changes === 0 || (!known && !before)) {
      this.#bases.forget(step.actorId);
      const found = before ?? (s.getRunId.get(step.actorId) as ActorBase | undefined);
      if (found && fence && (found.owner !== fence.owner || found.owner_epoch !== fence.epoch)) throw new Rollback('fenced');
      // The actor was where the step expects it: what refused the update is an older event in its mailbox.
      if (applied && found && found.seq === step.expectedSeq && found.status === 'active' && s.hasDueEvent.get(step.actorId, dueAt)) throw new Rollback('queued');
      throw new Rollback('conflict');
    }
    let source: string;
    if (applied) {
      source = direct!.source;
    } else {
      const consumed = s.consumeEvent.get(step.eventId) as { source: string } | undefined;
      if (!consumed) throw new Rollback('consumed');
      source = consumed.source;
    }
    const runId = known ? known.runId : before!.run_id;
    this.#insertHistory(stepHistory(step, runId, seq), known ? known.snapshot : before!.snapshot, this.#outputOf(source, step.history.event, direct?.output));
    for (const actor of step.spawn) this.#insertActor(actor, now);
    // Cancels first: they name timers stored before this step; a timer this step re-arms with the same id stays.
    for (const sendId of step.cancelTimers) s.cancelTimer.run(step.actorId, sendId);
    for (const message of step.messages) this.#insertEvent(message, now);
    for (const childId of step.cancelJobs) s.cancelJobs.run(now, step.actorId, childId);
    for (const job of step.jobs) {
      const input = packPayload(job.input);
      if (job.claimedBy && !job.held) s.insertClaimedJob.run(job.key, job.actorId, job.runId, job.childId, job.src, input, job.claimedBy, job.runAt, now, now);
      else s.insertJob.run(job.key, job.actorId, job.runId, job.childId, job.src, input, job.held ? 'held' : 'pending', job.runAt, now);
    }
    for (const approval of step.approvals ?? []) this.#insertApproval(approval);
    // The plan was made from earlier reads: an approval decided meanwhile, or an actor that moved, makes it stale.
    for (const id of step.cancelApprovals ?? []) if (s.cancelApproval.run(now, id).changes === 0) throw new Rollback('conflict');
    for (const stop of step.stop) {
      // A stop is a state change like any other: seq + 1 and a history row, so timelines and
      // other processes' live views see it (and a host holding the old seq cannot commit).
      const actor = s.stopActor.get(now, stop.id, stop.expectedSeq) as { run_id: string; seq: number; snapshot: string | null; state_value: string | null; version: string } | undefined;
      if (!actor) throw new Rollback('conflict');
      this.#insertHistory({ actorId: stop.id, runId: actor.run_id, seq: actor.seq, eventType: 'xstate.stop', event: '{"type":"xstate.stop"}', stateValue: actor.state_value ?? 'null', snapshot: actor.snapshot ?? 'null', status: 'stopped', version: actor.version, emitted: null, startedAt: now, durationUs: 0 }, actor.snapshot);
      if (actor.snapshot !== null) s.keepSnapshotInHistory.run(SNAPSHOT_IN_HISTORY, stop.id, actor.seq);
      for (const childId of stop.cancelJobs) s.cancelJobs.run(now, stop.id, childId);
    }
    for (const letter of step.deadLetters) this.#insertDeadLetter(letter, now);
    if (step.audit?.length) this.#appendAudit(step.audit);
    // Only a step written whole teaches `#bases` (once its transaction commits): its actor, and the children it created.
    this.#written.push({ step, runId }, ...step.spawn.map((created) => ({ created })));
    for (const stop of step.stop) this.#bases.forget(stop.id);
    return { ok: true };
  }

  /**
   * Writes one history row: its event and snapshot as the runtime's codec encodes them, a delta
   * against `base`, the snapshot of the actor's row `seq - 1` (null when there is none).
   */
  #insertHistory(h: HistoryRecord, base: string | null, job?: { key: string; output: string }): void {
    const { body, checkpoint } = encodeHistoryStep(h, base, job ? { shared: job.output } : {});
    this.#s.insertHistory.run(h.actorId, h.runId, h.seq, h.eventType, h.stateValue, h.status, h.version, h.emitted, h.startedAt, h.durationUs, checkpoint ? 1 : 0, body, job?.key ?? null);
  }

  /**
   * The job whose result a step applies, when its event came from a finished activity and carries
   * the output the job row keeps: the history row refers to that output instead of copying it.
   */
  #outputOf(source: string, event: string, known?: string | null): { key: string; output: string } | undefined {
    if (!source.startsWith(ACTIVITY_SOURCE)) return undefined;
    const key = source.slice(ACTIVITY_SOURCE.length);
    const output = known !== undefined ? known : this.#doneJobOutput(key);
    return output && output.length >= MIN_SHARED_OUTPUT && event.includes(output) ? { key, output } : undefined;
  }

  /** The output a done job keeps, as written. */
  #doneJobOutput(key: string): string | undefined {
    const row = this.#s.doneJobOutput.get(key) as Pick<StoredJobRow, 'key' | 'input' | 'output'> | undefined;
    return row ? (unpackJobOutput(row).output ?? undefined) : undefined;
  }

  /**
   * A job's journal and output as its row keeps them: packed against the row's input and output
   * (without `output`, a retry: the row's own output, which stays). The row is read only when
   * one of them is long enough to be packed.
   */
  #packJobResult(key: string, journal: string, output?: string | null): { journal: StoredText; output: StoredText | null } {
    if (journal.length < MIN_PACKED_CHARS && (output ?? '').length < MIN_PACKED_CHARS) return { journal, output: output ?? null };
    const row = this.#s.jobTexts.get(key) as Pick<StoredJobRow, 'key' | 'input' | 'output'> | undefined;
    if (!row) return { journal, output: output ?? null }; // the update that follows changes nothing
    const stored = unpackJobOutput(row);
    if (output === undefined) return { journal: packJobJournal(journal, stored.input, stored.output), output: null };
    return { journal: packJobJournal(journal, stored.input, output), output: output === null ? null : packJobOutput(output, stored.input) };
  }

  /** An actor's record; a finished actor's snapshot is read from its history row at its seq. */
  #actor(row: StoredActorRow): ActorRecord {
    if (row.snapshot === null || typeof row.snapshot === 'string') return toActor({ ...row, snapshot: row.snapshot });
    const id = `${row.id}#${row.seq}`;
    let snapshot = this.#finished.get(id);
    if (snapshot === undefined) {
      const last = this.#s.historyRow.get(row.id, row.seq) as HistorySqlRow | undefined;
      if (!last || !Buffer.from(row.snapshot).equals(SNAPSHOT_IN_HISTORY)) {
        throw new SpineError('storage_corrupt', `The snapshot of actor '${row.id}' cannot be read: ${last ? 'its row holds bytes Spine does not write' : `its history row ${row.seq} is missing`}. The database was changed outside Spine or is damaged; restore it from a backup.`, { actorId: row.id });
      }
      snapshot = this.#decode([last])[0]!.snapshot;
      this.#finished.set(id, snapshot);
      if (this.#finished.size > 256) this.#finished.delete(this.#finished.keys().next().value!);
    }
    return toActor({ ...row, snapshot });
  }

  /** Decodes history rows read in commit (or seq) order; a row of the old layout (a read-only old database) is read as it is. */
  #decode(rows: HistorySqlRow[]): HistoryRecord[] {
    const chainOf = (actorId: string, seq: number) =>
      (this.#s.historyChain.all(actorId, seq, actorId, seq) as (Omit<StoredHistoryBody, 'shared'> & { shared: StoredText | null; sharedInput: StoredText | null; jobKey: string | null })[]).map(
        ({ sharedInput, jobKey, ...link }) => ({ ...link, shared: sharedOutput(link.shared, sharedInput, jobKey) }),
      );
    return rows.map((r) => {
      if (r.body === undefined) return toHistory(r, r.event!, r.snapshot!);
      const { event, snapshot } = this.#decoder.decode({ actorId: r.actor_id, seq: r.seq, body: r.body, shared: sharedOutput(r.shared, r.shared_input, r.job_key) }, chainOf);
      return toHistory(r, event, snapshot);
    });
  }

  #decodeRows(rows: HistorySqlRow[]): HistoryRow[] {
    return this.#decode(rows).map((record, i) => ({ ...record, rowId: rows[i]!.row_id }));
  }

  /** Approvals whose held job was cancelled with their run (`stopRun`) close with it. */
  #cancelApprovals(rows: CancelledApproval[], now: number, why: { who: string; reason: string }): void {
    if (!rows.length) return;
    this.#appendAudit(
      rows.map((r) => ({ at: now, runId: r.run_id, actorId: r.actor_id, kind: 'approval.cancelled' as const, who: why.who, subject: r.id, detail: JSON.stringify({ src: r.src, jobKey: r.job_key, reason: why.reason }) })),
    );
  }

  async recordDeadLetters(letters: NewDeadLetter[]): Promise<void> {
    this.db.transaction(() => {
      const now = this.#now();
      for (const letter of letters) this.#insertDeadLetter(letter, now);
    }).immediate();
  }

  async listDeadLetters(actorId?: string): Promise<DeadLetter[]> {
    const rows = (actorId ? this.#s.deadLettersOf.all(actorId) : this.#s.deadLetters.all()) as DeadLetterRow[];
    return rows.map(toDeadLetter);
  }

  // ---- jobs ---------------------------------------------------------------------

  async claimJob(key: string, owner: string, now: number, deadOwners: string[]): Promise<JobRecord | undefined> {
    const row = this.#s.claimJob.get(owner, now, key, now, JSON.stringify(deadOwners), now) as StoredJobRow | undefined;
    return row && toJob(unpackJobTexts(row));
  }

  /** Journals an outcome if the job is still this owner's attempt. */
  #completeJob(completion: JobCompletion, now: number): boolean {
    const { status, output, error, journal, key, owner, attempt } = completion;
    const finishedAt = completion.finishedAt ?? now;
    const packed = this.#packJobResult(key, journal, output);
    const run =
      attempt === undefined
        ? this.#s.completeJob.run(status, packed.output, error, packed.journal, finishedAt, key, owner)
        : this.#s.completeJobAttempt.run(status, packed.output, error, packed.journal, finishedAt, key, owner, attempt);
    return run.changes > 0;
  }

  /** Why an outcome was refused: the job runs for another owner or attempt now (else it was cancelled or finished). */
  #jobTakenOver(outcome: { key: string; owner: string; attempt?: number }): boolean {
    const job = this.#s.getJob.get(outcome.key) as StoredJobRow | undefined;
    return job !== undefined && job.status !== 'cancelled' && (job.owner !== outcome.owner || (outcome.attempt !== undefined && job.attempts !== outcome.attempt));
  }

  async completeJob(completion: JobCompletion): Promise<boolean> {
    return this.db.transaction(() => {
      const now = this.#now();
      if (!this.#completeJob(completion, now)) return false;
      this.#insertEvent(completion.event, now);
      if (completion.audit?.length) this.#appendAudit(completion.audit);
      return true;
    }).immediate();
  }

  async retryJob(retry: JobRetry): Promise<boolean> {
    // attempts = COALESCE(?, attempts): without an attempt, fenced by owner only.
    const attempt = retry.attempt ?? null;
    if (!retry.audit?.length) return this.#s.retryJob.run(retry.runAt, this.#packJobResult(retry.key, retry.journal).journal, retry.key, retry.owner, attempt).changes > 0;
    return this.db.transaction(() => {
      if (this.#s.retryJob.run(retry.runAt, this.#packJobResult(retry.key, retry.journal).journal, retry.key, retry.owner, attempt).changes === 0) return false;
      this.#appendAudit(retry.audit!);
      return true;
    }).immediate();
  }

  async getJob(key: string): Promise<JobRecord | undefined> {
    const row = this.#s.getJob.get(key) as StoredJobRow | undefined;
    return row && toJob(unpackJobTexts(row));
  }

  async listJobs(query: { runId?: string; actorId?: string; status?: JobStatus[] }): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.runId) {
      where.push(JOBS_OF_RUN);
      params.push(query.runId);
    }
    if (query.actorId) {
      where.push('actor_id = ?');
      params.push(query.actorId);
    }
    if (query.status?.length) {
      where.push(`status IN (${query.status.map(() => '?').join(', ')})`);
      params.push(...query.status);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, key`;
    return (this.db.prepare(sql).all(...params) as StoredJobRow[]).map((row) => toJob(unpackJobTexts(row)));
  }

  // ---- scheduling -----------------------------------------------------------------

  async runnable(now: number, owner: string, deadOwners: string[], limit: number): Promise<{ actors: string[]; jobs: { key: string; actorId: string }[] }> {
    const dead = JSON.stringify(deadOwners);
    const actors = (this.#s.runnableActors.all(now, owner, dead, now, limit) as { actor_id: string }[]).map((r) => r.actor_id);
    const jobs = (this.#s.runnableJobs.all(now, dead, now, owner, dead, now, limit) as { key: string; actor_id: string }[]).map((r) => ({ key: r.key, actorId: r.actor_id }));
    return { actors, jobs };
  }

  async nextWakeAt(now: number): Promise<number | undefined> {
    const row = this.#s.nextWake.get(now, now, now) as { e: number | null; j: number | null; d: number | null };
    const candidates = [row.e, row.j, row.d].filter((v): v is number => v !== null);
    return candidates.length ? Math.min(...candidates) : undefined;
  }

  async claimActors(ids: string[], owner: string, deadOwners: string[], now = this.#now(), limit?: number): Promise<string[]> {
    if (!ids.length) return [];
    const wanted = JSON.stringify(ids);
    const dead = JSON.stringify(deadOwners);
    const rows = this.#s.claimActors.all(owner, owner, wanted, owner, wanted, dead, now, limit ?? -1) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async releaseOwner(owner: string): Promise<void> {
    this.db.transaction(() => {
      this.#s.releaseActors.run(owner);
      this.#s.releaseJobs.run(owner);
    }).immediate();
  }

  async heartbeat(host: HostRecord, leaseMs = DEFAULT_LEASE_MS): Promise<{ hosts: HostRecord[]; expired: boolean; found: boolean }> {
    // One machine, one clock: the caller's (`heartbeatAt`, the runtime's injectable clock) decides.
    const now = host.heartbeatAt;
    const { expired, found } = this.db.transaction(() => {
      const before = this.#s.leaseOf.get(host.id) as number | undefined;
      this.#s.upsertHost.run(host.id, host.hostname, host.pid, host.startedAt, now, now + leaseMs);
      return { expired: before !== undefined && before <= now, found: before !== undefined };
    }).immediate();
    const hosts = (this.#s.hosts.all() as { id: string; hostname: string; pid: number; started_at: number; heartbeat_at: number; lease_until: number }[]).map((h) => ({
      id: h.id,
      hostname: h.hostname,
      pid: h.pid,
      startedAt: h.started_at,
      heartbeatAt: h.heartbeat_at,
      leaseUntil: h.lease_until,
    }));
    return { hosts, expired, found };
  }

  async removeHost(id: string): Promise<void> {
    this.#s.removeHost.run(id);
  }

  /** Touches `<db>.wake`, which every host on this database watches (see WakeFile). */
  wakeHosts(): void {
    if (this.path !== ':memory:') new WakeFile(this.path).notify();
  }

  onWake(listener: () => void): () => void {
    return this.path === ':memory:' ? () => {} : new WakeFile(this.path).watch(listener);
  }

  // ---- history --------------------------------------------------------------------

  async history(actorId: string, options: { fromSeq?: number; limit?: number } = {}): Promise<HistoryRecord[]> {
    return this.#decode(this.#s.history.all(actorId, options.fromSeq ?? 0, options.limit ?? 100_000) as HistorySqlRow[]);
  }

  async runHistory(runId: string, options: { upToRowId?: number; limit?: number; afterRowId?: number } = {}): Promise<HistoryRow[]> {
    const rows =
      options.afterRowId !== undefined
        ? this.#s.runHistoryAfter.all(runId, options.afterRowId, options.upToRowId ?? Number.MAX_SAFE_INTEGER, options.limit ?? -1)
        : options.upToRowId === undefined && options.limit === undefined
        ? this.#s.runHistory.all(runId)
        : this.#s.runHistoryUpTo.all(runId, options.upToRowId ?? Number.MAX_SAFE_INTEGER, options.limit ?? -1);
    return this.#decodeRows(rows as HistorySqlRow[]);
  }

  async historyRow(actorId: string, seq: number): Promise<HistoryRow | undefined> {
    const row = this.#s.historyRow.get(actorId, seq) as HistorySqlRow | undefined;
    return row && this.#decodeRows([row])[0];
  }

  async historyHead(): Promise<number> {
    return (this.#s.historyHead.get() as { head: number }).head;
  }

  async historySince(afterRowId: number, limit: number): Promise<HistoryRow[]> {
    return this.#decodeRows(this.#s.historySince.all(afterRowId, limit) as HistorySqlRow[]);
  }

  async runStats(runId: string, options: { upToRowId?: number } = {}): Promise<RunStats> {
    const row = this.#s.runStats.get(runId, options.upToRowId ?? Number.MAX_SAFE_INTEGER, runId, runId) as { steps: number; actors: number; updated: number | null };
    return { steps: row.steps, actors: row.actors, updatedAt: row.updated ?? undefined };
  }

  async runJournals(runId: string): Promise<{ key: string; actorId: string; src: string; journal: string }[]> {
    return (this.#s.runJournals.all(runId) as { key: string; actor_id: string; src: string; input: StoredText; output: StoredText | null; journal: StoredText }[])
      .map((row) => unpackJobTexts(row))
      .map((r) => ({ key: r.key, actorId: r.actor_id, src: r.src, journal: r.journal }));
  }

  // ---- run control ------------------------------------------------------------------

  async forkRun(fork: RunFork): Promise<void> {
    const s = this.#s;
    const tx = this.db.transaction(() => {
      const now = fork.at;
      for (const a of fork.actors) {
        if (s.getActor.get(a.id)) throw new SpineError('conflict', `Cannot fork run '${fork.sourceRunId}' as '${fork.runId}': an actor '${a.id}' exists already. Fork again (a new run id is chosen).`, { actorId: a.id });
        s.insertForkedActor.run(a.id, a.runId, a.parentId, a.childKey, a.machine, a.version, a.seq, a.status, a.snapshot, a.stateValue, a.output, a.error, now, now);
      }
      // Each forked row is a delta against the actor's previous forked row, when the fork has it.
      const previous = new Map<string, HistoryRecord>();
      for (const h of fork.history) {
        const before = previous.get(h.actorId);
        this.#insertHistory(h, before && before.seq === h.seq - 1 ? before.snapshot : null);
        previous.set(h.actorId, h);
      }
      for (const e of fork.events) this.#insertEvent(e, now);
      for (const j of fork.jobs) s.insertJob.run(j.key, j.actorId, j.runId, j.childId, j.src, packPayload(j.input), j.held ? 'held' : 'pending', j.runAt, now);
      for (const j of fork.inheritedJobs) {
        const output = j.output === null ? null : packJobOutput(j.output, j.input);
        s.insertInheritedJob.run(j.key, j.actorId, j.runId, j.childId, j.src, packPayload(j.input), j.status, j.attempts, j.runAt, output, j.error, packJobJournal(j.journal, j.input, j.output), j.createdAt, j.startedAt, j.finishedAt);
      }
      for (const approval of fork.approvals) this.#insertApproval(approval);
      this.#appendAudit(fork.audit);
    });
    tx.immediate();
  }

  async stopRun(stop: RunStop): Promise<boolean> {
    const s = this.#s;
    const now = stop.at;
    return this.#fenced(() => {
      for (const a of stop.actors) {
        const seq = a.history ? a.history.seq : a.expectedSeq;
        if (s.stopRunActor.run(seq, now, a.actorId, a.expectedSeq).changes === 0) throw new Fenced();
        if (a.history) this.#insertHistory(a.history, this.#snapshotOf(a.actorId));
        s.cancelAllJobs.run(now, a.actorId);
        for (const e of s.mailbox.all(a.actorId) as { id: number; event: string; source: string }[]) {
          s.deleteEvent.run(e.id);
          this.#insertDeadLetter({ actorId: a.actorId, event: e.event, reason: stop.deadLetterReason, issues: null, source: e.source }, now);
        }
      }
      for (const id of stop.approvals) if (s.cancelApprovalById.run(now, id).changes === 0) throw new Fenced();
      if (stop.audit.length) this.#appendAudit(stop.audit);
    });
  }

  /** Runs `write` in one transaction; false (everything rolled back) when it throws `Fenced`. */
  #fenced(write: () => void): boolean {
    try {
      this.db.transaction(write).immediate();
      return true;
    } catch (error) {
      if (error instanceof Fenced) return false;
      throw error;
    }
  }

  /** The actor row's snapshot: the base of the delta for a history row that keeps the actor's state (a stop, a version move). */
  #snapshotOf(actorId: string): string | null {
    return (this.#s.getRunId.get(actorId) as { snapshot: string | null } | undefined)?.snapshot ?? null;
  }

  async rescheduleJob(key: string, runAt: number): Promise<boolean> {
    return this.#s.rescheduleJob.run(runAt, key).changes > 0;
  }

  async runActivity(runId: string, now: number): Promise<{ dueEvents: number; activeJobs: number; nextWakeAt: number | undefined }> {
    const row = this.#s.runActivity.get(runId, now, runId, now, runId, now, runId, now) as { due: number; jobs: number; e: number | null; j: number | null };
    const deadline = (this.#s.runDeadline.get(runId, now) as { d: number | null }).d;
    const wakes = [row.e, row.j, deadline].filter((v): v is number => v !== null);
    // A halted run does nothing until a person decides, whatever waits in its mailboxes.
    if (this.#s.runHalted.get(runId)) return { dueEvents: 0, activeJobs: 0, nextWakeAt: deadline ?? undefined };
    return { dueEvents: row.due, activeJobs: row.jobs, nextWakeAt: wakes.length ? Math.min(...wakes) : undefined };
  }

  // ---- approvals and decisions ------------------------------------------------------

  async listApprovals(query: ApprovalQuery = {}): Promise<ApprovalRecord[]> {
    const where = ["(p.status <> 'pending' OR a.status = 'active')"];
    const params: unknown[] = [];
    if (query.runId) {
      where.push('p.run_id = ?');
      params.push(query.runId);
    }
    if (query.status?.length) {
      where.push(`p.status IN (${query.status.map(() => '?').join(', ')})`);
      params.push(...query.status);
    }
    params.push(query.limit ?? 1000);
    const sql = `SELECT p.* FROM approvals p JOIN actors a ON a.id = p.actor_id WHERE ${where.join(' AND ')} ORDER BY p.requested_at DESC, p.id LIMIT ?`;
    return (this.db.prepare(sql).all(...params) as ApprovalRow[]).map(toApproval);
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const row = this.#s.getApproval.get(id) as ApprovalRow | undefined;
    return row && toApproval(row);
  }

  async dueApprovals(now: number, limit: number): Promise<ApprovalRecord[]> {
    return (this.#s.dueApprovals.all(now, limit) as ApprovalRow[]).map(toApproval);
  }

  async isRunHalted(runId: string): Promise<boolean> {
    return Boolean(this.#s.runHalted.get(runId));
  }

  async submitDecision(decision: NewDecision): Promise<number> {
    return Number(this.#s.insertDecision.run(decision.approvalId, decision.payload, decision.signature, this.#now()).lastInsertRowid);
  }

  async pendingDecisions(limit: number): Promise<DecisionRecord[]> {
    return (this.#s.pendingDecisions.all(limit) as DecisionRow[]).map(toDecision);
  }

  async resolveApproval(r: ApprovalResolution): Promise<boolean> {
    const s = this.#s;
    const tx = this.db.transaction((): boolean => {
      if (r.outcome === 'refused') {
        // Only the decision is refused; the approval stays as it was. Audit once, even if two hosts try.
        if (r.decisionId !== undefined && s.markDecision.run('refused', r.decisionId).changes === 0) return false;
        this.#appendAudit(r.audit);
        return false;
      }
      const approval = s.getApproval.get(r.approvalId) as ApprovalRow | undefined;
      if (!approval || approval.status !== 'pending') return false;
      if (r.decisionId !== undefined && s.markDecision.run('applied', r.decisionId).changes === 0) return false;
      switch (r.outcome) {
        case 'approved':
          s.decideApproval.run('approved', r.decidedBy ?? null, r.decidedAt ?? r.now, r.reason ?? null, r.editedInput ?? null, r.signature ?? null, r.approvalId);
          if (s.releaseJob.run(packPayload(r.jobInput ?? approval.proposal), r.now, approval.job_key).changes === 0) throw new Stale();
          break;
        case 'rejected':
        case 'expired': {
          s.decideApproval.run(r.outcome, r.decidedBy ?? null, r.decidedAt ?? r.now, r.reason ?? null, null, r.signature ?? null, r.approvalId);
          const entry = JSON.stringify({ outcome: r.outcome, by: r.decidedBy ?? null, reason: r.reason ?? null, at: r.now });
          const held = s.heldJobTexts.get(approval.job_key) as StoredJobRow | undefined;
          if (!held) throw new Stale();
          const texts = unpackJobTexts(held);
          const journal = packJobJournal(s.appendToJournal.get(texts.journal, entry) as string, texts.input, texts.output);
          if (s.failHeldJob.run(r.jobError ?? null, journal, r.now, approval.job_key).changes === 0) throw new Stale();
          break;
        }
        case 'escalated':
          if (approval.escalated_at !== null) return false;
          s.escalateApproval.run(r.now, r.approvalId);
          break;
      }
      if (r.event) this.#insertEvent(r.event, r.now);
      this.#appendAudit(r.audit);
      return true;
    });
    try {
      return tx.immediate();
    } catch (error) {
      if (error instanceof Stale) return false;
      throw error;
    }
  }

  // ---- audit log --------------------------------------------------------------------

  async appendAudit(entries: NewAuditEntry[]): Promise<void> {
    if (!entries.length) return;
    this.db.transaction(() => this.#appendAudit(entries)).immediate();
  }

  async listAudit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const where = ['seq > ?'];
    const params: unknown[] = [query.afterSeq ?? 0];
    if (query.runId) {
      where.push('run_id = ?');
      params.push(query.runId);
    }
    params.push(query.limit ?? 100_000);
    return (this.db.prepare(`SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params) as AuditRow[]).map(toAudit);
  }

  async verifyAudit(): Promise<AuditVerification> {
    return verifyAnchoredAudit(this.db, toAudit, this.#secret());
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    const clean = !this.db.readonly && !this.db.memory && !foundCorrupt(this);
    const checkpointer = this.#checkpointer;
    this.#checkpointer = undefined;
    await checkpointer?.close();
    if (!this.db.open) return;
    this.db.close();
    if (clean) markClosedCleanly(this.path); // the next open skips the page check while nothing touches the file
  }

  // ---- helpers --------------------------------------------------------------------

  #insertActor(actor: NewActor, now: number): void {
    this.#s.insertActor.run(actor.id, actor.runId, actor.parentId, actor.childKey, actor.machine, actor.version, actor.owner, now, now);
  }

  #insertEvent(event: NewEvent, now: number): number {
    return Number(this.#s.insertEvent.run(event.actorId, event.type, event.event, event.dueAt, event.sendId ?? null, event.source, now).lastInsertRowid);
  }

  #insertDeadLetter(letter: NewDeadLetter, now: number): void {
    insertBoundedDeadLetter(this.db, letter, now, this.#retention);
  }

  #insertApproval(a: NewApproval): void {
    this.#s.insertApproval.run(a.id, a.runId, a.actorId, a.jobKey, a.childId, a.src, a.machine, a.version, a.seq, a.tier, a.proposal, a.rationale, a.requestedAt, a.deadlineAt, a.onDeadline);
  }

  /** Appends hash-chained audit rows; call inside an IMMEDIATE transaction so the chain has one writer. */
  #appendAudit(entries: NewAuditEntry[]): void {
    if (!entries.length) return;
    const last = this.#s.lastAudit.get() as { seq: number; hash: string } | undefined;
    let seq = last?.seq ?? 0;
    let prev = last?.hash ?? GENESIS_HASH;
    for (const e of entries) {
      seq++;
      const row = { seq, at: e.at, runId: e.runId, actorId: e.actorId, kind: e.kind, who: e.who, subject: e.subject, detail: e.detail };
      const hash = auditHash(prev, row);
      this.#s.insertAudit.run(seq, e.at, e.runId, e.actorId, e.kind, e.who, e.subject, e.detail, prev, hash);
      prev = hash;
    }
    writeAuditAnchor(this.db, seq, prev, this.#secret());
  }
}

/** Whether SQLite refused a statement for what it contains (so only that entry of a batch fails). */
function isContentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
}


/**
 * Prepares a statement that names schema-4 history columns. A read-only store may have opened an
 * older file (it is not migrated then): there the statement is prepared only when first used, which
 * never happens (nothing is written, and its rows are read whole).
 */
function prepareFor(db: Database.Database, sql: string): Pick<Database.Statement, 'run' | 'all'> {
  if (!db.readonly) return db.prepare(sql);
  let statement: Database.Statement | undefined;
  return {
    run: (...params: unknown[]) => (statement ??= db.prepare(sql)).run(...params),
    all: (...params: unknown[]) => (statement ??= db.prepare(sql)).all(...params),
  };
}

/**
 * A read-only connection (`spine runs`, `spine show`) whose statements are prepared when first run:
 * such a command runs a handful of the statements a host needs, and preparing them all costs it
 * milliseconds. A writable store prepares everything at open, so its steps never wait for it.
 */
function preparedWhenRun(db: Database.Database): Database.Database {
  const statement = (sql: string) => {
    let prepared: Database.Statement | undefined;
    let pluck = false;
    const get = () => (prepared ??= pluck ? db.prepare(sql).pluck() : db.prepare(sql));
    const lazy = {
      run: (...params: unknown[]) => get().run(...params),
      get: (...params: unknown[]) => get().get(...params),
      all: (...params: unknown[]) => get().all(...params),
      pluck: () => ((pluck = true), lazy),
    };
    return lazy;
  };
  return { readonly: true, prepare: statement } as unknown as Database.Database;
}

function prepare(connection: Database.Database) {
  const db = connection.readonly ? preparedWhenRun(connection) : connection;
  // History rows with the output of the job each refers to (schema 4); a read-only older file has neither column.
  const current = (db.prepare("SELECT COUNT(*) FROM pragma_table_info('history') WHERE name = 'job_key'").pluck().get() as number) > 0;
  const historyRows = current ? 'SELECT h.*, j.output AS shared, j.input AS shared_input FROM history h LEFT JOIN jobs j ON j.key = h.job_key' : 'SELECT h.* FROM history h';
  // Leases and epochs (schema 5); a read-only older file has neither column and is never written, so its
  // ownership statements are stubs (and no host holds a lease there).
  const leased = (db.prepare("SELECT COUNT(*) FROM pragma_table_info('hosts') WHERE name = 'lease_until'").pluck().get() as number) > 0;
  const ifLeased = (sql: string) => db.prepare(leased ? sql : 'SELECT NULL WHERE 0');
  // Whether `owner` may be taken over (parameters: the caller's dead hosts as JSON, then `now`): the caller
  // knows it dead, or it holds no lease live at `now`, its lease expired or its `hosts` row gone (removed
  // at a stop that raced a late claim, by an operator, or absent from a restored backup).
  const takeable = (owner: string) =>
    `(${owner} IN (SELECT value FROM json_each(?)) OR NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = ${owner} AND ${leased ? 'h.lease_until > ?' : '(? IS NOT NULL OR 1)'}))`;
  return {
    insertVersion: db.prepare('INSERT OR IGNORE INTO machine_versions (machine, version, definition, created_at) VALUES (?, ?, ?, ?)'),
    lastVersionOf: db.prepare('SELECT version FROM machine_versions WHERE machine = ? ORDER BY created_at DESC, rowid DESC LIMIT 1'),
    getVersion: db.prepare('SELECT definition FROM machine_versions WHERE machine = ? AND version = ?'),
    listVersions: db.prepare('SELECT machine, version, created_at FROM machine_versions ORDER BY machine, created_at'),
    listVersionsOf: db.prepare('SELECT machine, version, created_at FROM machine_versions WHERE machine = ? ORDER BY created_at'),
    insertActor: db.prepare(
      'INSERT INTO actors (id, run_id, parent_id, child_key, machine, version, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getActor: db.prepare('SELECT * FROM actors WHERE id = ?'),
    getRunId: ifLeased('SELECT run_id, snapshot, owner, owner_epoch, seq, status FROM actors WHERE id = ?'),
    children: db.prepare("SELECT id, child_key, machine, seq FROM actors WHERE parent_id = ? AND status = 'active' ORDER BY created_at, id"),
    // A step's update of its actor, at the seq it was planned from. The last parameter is the due
    // time of an activity's result applied directly (null for a mailbox event): such a step holds
    // only while nothing that old waits in the mailbox, so events keep their order.
    updateActor: db.prepare(
      `UPDATE actors SET seq = ?, status = ?, snapshot = ?, state_value = ?, output = ?, error = ?, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active' AND ${NO_DUE_EVENT}`,
    ),
    // The same, fenced by ownership: only the owner at the epoch it claimed may commit.
    updateOwnedActor: ifLeased(
      `UPDATE actors SET seq = ?, status = ?, snapshot = ?, state_value = ?, output = ?, error = ?, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active' AND owner = ? AND owner_epoch = ? AND ${NO_DUE_EVENT}`,
    ),
    keepSnapshotInHistory: db.prepare('UPDATE actors SET snapshot = ? WHERE id = ? AND seq = ?'),
    // The two above for a step that stays active (no `status` in the SET, so no index on it is rewritten).
    advanceActor: db.prepare(`UPDATE actors SET seq = ?, snapshot = ?, state_value = ?, output = ?, error = ?, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active' AND ${NO_DUE_EVENT}`),
    advanceOwnedActor: ifLeased(
      `UPDATE actors SET seq = ?, snapshot = ?, state_value = ?, output = ?, error = ?, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active' AND owner = ? AND owner_epoch = ? AND ${NO_DUE_EVENT}`,
    ),
    stopActor: db.prepare(
      "UPDATE actors SET status = 'stopped', seq = seq + 1, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active' RETURNING run_id, seq, snapshot, state_value, version",
    ),
    insertEvent: db.prepare('INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insertEventIfActive: db.prepare(
      "INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM actors WHERE id = ? AND status = 'active')",
    ),
    nextEvents: db.prepare('SELECT * FROM events WHERE actor_id = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?'),
    deleteEvent: db.prepare('DELETE FROM events WHERE id = ?'),
    consumeEvent: db.prepare('DELETE FROM events WHERE id = ? RETURNING source'),
    doneJobOutput: db.prepare("SELECT key, input, output FROM jobs WHERE key = ? AND status = 'done'"),
    // The texts a job's output and journal are packed against (see packJobOutput).
    jobTexts: db.prepare('SELECT key, input, output FROM jobs WHERE key = ?'),
    heldJobTexts: db.prepare("SELECT key, input, output, journal FROM jobs WHERE key = ? AND status = 'held'"),
    appendToJournal: db.prepare("SELECT json_insert(?, '$[#]', json(?))").pluck(),
    hasDueEvent: db.prepare('SELECT 1 FROM events WHERE actor_id = ? AND due_at <= ? LIMIT 1'),
    cancelTimer: db.prepare('DELETE FROM events WHERE source = ? AND send_id = ?'),
    timersOf: db.prepare('SELECT DISTINCT send_id FROM events WHERE source = ? AND send_id IS NOT NULL ORDER BY send_id'),
    insertHistory: prepareFor(
      db,
      'INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    // An actor's bodies from its last checkpoint before a seq up to that seq: what decoding a delta needs.
    historyChain: prepareFor(
      db,
      `SELECT h.actor_id AS actorId, h.seq, h.body, j.output AS shared, j.input AS sharedInput, h.job_key AS jobKey FROM history h LEFT JOIN jobs j ON j.key = h.job_key
         WHERE h.actor_id = ? AND h.seq < ? AND h.seq >= (SELECT MAX(seq) FROM history WHERE actor_id = ? AND seq < ? AND checkpoint = 1) ORDER BY h.seq`,
    ),
    history: db.prepare(`${historyRows} WHERE h.actor_id = ? AND h.seq >= ? ORDER BY h.seq LIMIT ?`),
    runHistory: db.prepare(`${historyRows} WHERE h.run_id = ? ORDER BY h.row_id`),
    // The latest `limit` rows up to a row id (LIMIT -1: all), returned oldest first.
    runHistoryUpTo: db.prepare(`SELECT * FROM (${historyRows} WHERE h.run_id = ? AND h.row_id <= ? ORDER BY h.row_id DESC LIMIT ?) ORDER BY row_id`),
    historyRow: db.prepare(`${historyRows} WHERE h.actor_id = ? AND h.seq = ?`),
    runHistoryAfter: db.prepare(`${historyRows} WHERE h.run_id = ? AND h.row_id > ? AND h.row_id <= ? ORDER BY h.row_id LIMIT ?`),
    historyHead: db.prepare('SELECT COALESCE(MAX(row_id), 0) AS head FROM history'),
    historySince: db.prepare(`${historyRows} WHERE h.row_id > ? ORDER BY h.row_id LIMIT ?`),
    runStats: db.prepare(
      `SELECT (SELECT COUNT(*) FROM history WHERE run_id = ? AND row_id <= ?) AS steps, (SELECT COUNT(*) FROM actors WHERE run_id = ?) AS actors,
         (SELECT MAX(updated_at) FROM actors WHERE run_id = ?) AS updated`,
    ),
    runJournals: db.prepare(`SELECT key, actor_id, src, input, output, journal FROM jobs WHERE ${JOBS_OF_RUN} AND journal <> '[]' ORDER BY created_at, key`),
    insertForkedActor: db.prepare(
      `INSERT INTO actors (id, run_id, parent_id, child_key, machine, version, seq, status, snapshot, state_value, output, error, owner, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
    ),
    activeActorsOfRun: db.prepare("SELECT * FROM actors WHERE run_id = ? AND status = 'active' ORDER BY created_at, id"),
    stopRunActor: db.prepare("UPDATE actors SET status = 'stopped', seq = ?, updated_at = ? WHERE id = ? AND seq = ? AND status = 'active'"),
    moveActor: db.prepare("UPDATE actors SET version = ?, seq = ?, updated_at = ? WHERE id = ? AND seq = ? AND version = ? AND status = 'active'"),
    cancelApprovalById: db.prepare("UPDATE approvals SET status = 'cancelled', decided_at = ? WHERE id = ? AND status = 'pending'"),
    insertInheritedJob: db.prepare(
      `INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, attempts, run_at, owner, output, error, journal, created_at, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)`,
    ),
    mailbox: db.prepare('SELECT id, event, source FROM events WHERE actor_id = ? ORDER BY due_at, id'),
    rescheduleJob: db.prepare("UPDATE jobs SET run_at = ? WHERE key = ? AND status = 'pending'"),
    insertJob: db.prepare('INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    insertClaimedJob: db.prepare(
      "INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, 1, ?, ?, ?)",
    ),
    getJob: db.prepare('SELECT * FROM jobs WHERE key = ?'),
    claimJob: db.prepare(
      `UPDATE jobs SET status = 'running', owner = ?, attempts = attempts + 1, started_at = ?
       WHERE key = ? AND ((status = 'pending' AND run_at <= ?) OR (status = 'running' AND ${takeable('jobs.owner')}))
       RETURNING *`,
    ),
    completeJob: db.prepare(
      "UPDATE jobs SET status = ?, output = ?, error = ?, journal = ?, finished_at = ? WHERE key = ? AND status = 'running' AND owner = ?",
    ),
    completeJobAttempt: db.prepare(
      "UPDATE jobs SET status = ?, output = ?, error = ?, journal = ?, finished_at = ? WHERE key = ? AND status = 'running' AND owner = ? AND attempts = ?",
    ),
    retryJob: db.prepare(
      "UPDATE jobs SET status = 'pending', run_at = ?, journal = ?, owner = NULL WHERE key = ? AND status = 'running' AND owner = ? AND attempts = COALESCE(?, attempts)",
    ),
    cancelJobs: db.prepare(
      "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE actor_id = ? AND child_id = ? AND status IN ('pending', 'held', 'running')",
    ),
    cancelAllJobs: db.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE actor_id = ? AND status IN ('pending', 'held', 'running')"),
    cancelApproval: db.prepare("UPDATE approvals SET status = 'cancelled', decided_at = ? WHERE id = ? AND status = 'pending'"),
    openJobsOf: db.prepare("SELECT key, child_id, status FROM jobs WHERE actor_id = ? AND status IN ('pending', 'held', 'running') ORDER BY created_at, key"),
    pendingApprovalsOf: db.prepare("SELECT id, run_id, child_id, src, job_key FROM approvals WHERE actor_id = ? AND status = 'pending' ORDER BY requested_at, id"),
    cancelAllApprovals: db.prepare("UPDATE approvals SET status = 'cancelled', decided_at = ? WHERE actor_id = ? AND status = 'pending' RETURNING id, run_id, actor_id, src, job_key"),
    insertApproval: db.prepare(
      `INSERT INTO approvals (id, run_id, actor_id, job_key, child_id, src, machine, version, seq, tier, proposal, rationale, requested_at, deadline_at, on_deadline)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getApproval: db.prepare('SELECT * FROM approvals WHERE id = ?'),
    dueApprovals: db.prepare(
      `SELECT p.* FROM approvals p JOIN actors a ON a.id = p.actor_id
       WHERE p.status = 'pending' AND p.escalated_at IS NULL AND p.deadline_at IS NOT NULL AND p.deadline_at <= ? AND a.status = 'active'
       ORDER BY p.deadline_at LIMIT ?`,
    ),
    runHalted: db.prepare(
      "SELECT 1 AS halted FROM approvals p JOIN actors a ON a.id = p.actor_id WHERE p.run_id = ? AND p.status = 'pending' AND p.tier = 'high' AND a.status = 'active' LIMIT 1",
    ),
    runDeadline: db.prepare("SELECT MIN(deadline_at) AS d FROM approvals WHERE run_id = ? AND status = 'pending' AND escalated_at IS NULL AND deadline_at > ?"),
    decideApproval: db.prepare(
      "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ?, edited_input = ?, signature = ? WHERE id = ? AND status = 'pending'",
    ),
    escalateApproval: db.prepare("UPDATE approvals SET escalated_at = ? WHERE id = ? AND status = 'pending' AND escalated_at IS NULL"),
    releaseJob: db.prepare("UPDATE jobs SET status = 'pending', input = ?, run_at = ? WHERE key = ? AND status = 'held'"),
    failHeldJob: db.prepare(
      "UPDATE jobs SET status = 'failed', error = ?, journal = ?, finished_at = ? WHERE key = ? AND status = 'held'",
    ),
    insertDecision: db.prepare('INSERT INTO decisions (approval_id, payload, signature, created_at) VALUES (?, ?, ?, ?)'),
    pendingDecisions: db.prepare("SELECT * FROM decisions WHERE status = 'submitted' ORDER BY id LIMIT ?"),
    markDecision: db.prepare("UPDATE decisions SET status = ? WHERE id = ? AND status = 'submitted'"),
    lastAudit: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
    firstAuditSeq: db.prepare('SELECT seq FROM audit_log ORDER BY seq LIMIT 1'),
    insertAudit: db.prepare('INSERT INTO audit_log (seq, at, run_id, actor_id, kind, who, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    // CROSS JOIN fixes the join order: walk the (small) due mailbox and open jobs, then
    // look actors up by key. Scanning actors first would read every waiting snapshot.
    runnableActors: db.prepare(
      `SELECT DISTINCT e.actor_id FROM events e CROSS JOIN actors a ON a.id = e.actor_id
       WHERE e.due_at <= ? AND a.status = 'active' AND (a.owner IS NULL OR a.owner = ? OR ${takeable('a.owner')})
         AND NOT EXISTS (SELECT 1 FROM approvals p WHERE p.run_id = a.run_id AND p.status = 'pending' AND p.tier = 'high') LIMIT ?`,
    ),
    runnableJobs: db.prepare(
      // `status IN (…)` repeats the partial index's condition so SQLite uses `jobs_open` (the open
      // jobs) instead of scanning every job ever run; the same in `nextWake`.
      `SELECT j.key, j.actor_id FROM jobs j CROSS JOIN actors a ON a.id = j.actor_id
       WHERE j.status IN ('pending', 'running') AND ((j.status = 'pending' AND j.run_at <= ?) OR (j.status = 'running' AND ${takeable('j.owner')}))
         AND a.status = 'active' AND (a.owner IS NULL OR a.owner = ? OR ${takeable('a.owner')})
         AND NOT EXISTS (SELECT 1 FROM approvals p WHERE p.run_id = a.run_id AND p.status = 'pending' AND p.tier = 'high') LIMIT ?`,
    ),
    nextWake: db.prepare(
      `SELECT (SELECT MIN(due_at) FROM events WHERE due_at > ?) AS e, (SELECT MIN(run_at) FROM jobs WHERE status IN ('pending', 'running') AND status = 'pending' AND run_at > ?) AS j,
         (SELECT MIN(deadline_at) FROM approvals WHERE status = 'pending' AND escalated_at IS NULL AND deadline_at > ?) AS d`,
    ),
    claimActors: ifLeased(
      // The ones it holds, and at most LIMIT (-1: all) of the others, the first in the order asked.
      `UPDATE actors SET owner_epoch = CASE WHEN owner IS ? THEN owner_epoch ELSE owner_epoch + 1 END, owner = ? WHERE id IN (SELECT value FROM json_each(?)) AND status = 'active'
       AND (owner = ? OR id IN (
         SELECT a.id FROM json_each(?) AS wanted JOIN actors a ON a.id = wanted.value
         WHERE a.status = 'active' AND (a.owner IS NULL OR ${takeable('a.owner')}) ORDER BY wanted.key LIMIT ?
       )) RETURNING id`,
    ),
    releaseActors: db.prepare('UPDATE actors SET owner = NULL WHERE owner = ?'),
    releaseJobs: db.prepare("UPDATE jobs SET status = 'pending', owner = NULL WHERE owner = ? AND status = 'running'"),
    upsertHost: ifLeased(
      'INSERT INTO hosts (id, hostname, pid, started_at, heartbeat_at, lease_until) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until',
    ),
    leaseOf: ifLeased('SELECT lease_until FROM hosts WHERE id = ?').pluck(),
    hosts: db.prepare('SELECT * FROM hosts'),
    removeHost: db.prepare('DELETE FROM hosts WHERE id = ?'),
    insertDeadLetter: db.prepare('INSERT INTO dead_letters (actor_id, event, reason, issues, source, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    deadLetters: db.prepare('SELECT * FROM dead_letters ORDER BY id'),
    deadLettersOf: db.prepare('SELECT * FROM dead_letters WHERE actor_id = ? ORDER BY id'),
    runActivity: db.prepare(
      `SELECT
         (SELECT COUNT(*) FROM events e JOIN actors a ON a.id = e.actor_id WHERE a.run_id = ? AND a.status = 'active' AND e.due_at <= ?) AS due,
         (SELECT COUNT(*) FROM jobs WHERE ${JOBS_OF_RUN} AND (status = 'running' OR (status = 'pending' AND run_at <= ?))) AS jobs,
         (SELECT MIN(e.due_at) FROM events e JOIN actors a ON a.id = e.actor_id WHERE a.run_id = ? AND a.status = 'active' AND e.due_at > ?) AS e,
         (SELECT MIN(run_at) FROM jobs WHERE ${JOBS_OF_RUN} AND status = 'pending' AND run_at > ?) AS j`,
    ),
  };
}


/** The output a history row refers to (`job_key`), unpacked against its job's input. */
function sharedOutput(output: StoredText | null | undefined, input: StoredText | null | undefined, key: string | null | undefined): string | null | undefined {
  if (output === null || output === undefined || typeof output === 'string') return output;
  return unpackJobOutput({ key: key ?? '', input: input ?? '', output }).output;
}

/** An activity result applied by its step without the mailbox: its due time, its source and the job's output (null unless done). */
interface DirectResult {
  dueAt: number;
  source: string;
  output: string | null;
}

reportStorageErrors(SqliteStore);
