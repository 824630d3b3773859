// PostgresStore: the five store roles over a pg pool. Long for the same reason as SqliteStore
// (one class holds the transactions that span roles and their SQL); the schema and migrations
// live in migrations.ts, and history bodies are the runtime's codec (no format of its own).
import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  auditHash,
  checkCreateEntry,
  createdActor,
  stepHistory,
  DEFAULT_LEASE_MS,
  boundDeadLetter,
  DEFAULT_DEAD_LETTER_RETENTION,
  encodeHistoryStep,
  GENESIS_HASH,
  HistoryDecoder,
  SpineError,
  toActor,
  toApproval,
  toAudit,
  toDeadLetter,
  toDecision,
  toEvent,
  toHistoryRow,
  toJob,
  type ActorRow,
  type ApprovalRow,
  type AuditRow,
  type DeadLetterRow,
  type DecisionRow,
  type EventRow,
  type HistoryRowColumns,
  type JobRow,
  type ActorQuery,
  type ActorRecord,
  type CreatedActors,
  type QueuedEvent,
  type ApprovalQuery,
  type ApprovalRecord,
  type ApprovalResolution,
  type AuditEntry,
  type AuditQuery,
  type AuditVerification,
  type BatchEntry,
  type BatchResult,
  type CommitResult,
  type DeadLetter,
  type DeadLetterRetention,
  type DecisionRecord,
  type HistoryRecord,
  type HistoryRow,
  type HostRecord,
  type JobCompletion,
  type JobRecord,
  type JobRetry,
  type JobStatus,
  type MailboxEvent,
  type NewActor,
  type NewApproval,
  type NewAuditEntry,
  type NewDeadLetter,
  type NewDecision,
  type NewEvent,
  type OpenWork,
  type RunFork,
  type RunStats,
  type RunStop,
  type StepCommit,
  type StoredHistoryBody,
  type Store,
  type VersionMove,
  crashInBatchHook,
  CommitBases,
} from '@spine/runtime/store';
import { lockAuditAnchor, settlePendingAnchor, verifyAnchoredAudit, writeAuditAnchor } from './auditAnchor.js';
import { APPLICATION, migrations } from './migrations.js';
import type { CopyCounts, StoreCopy } from './storeCopy.js';
import { FINISHED_BY, finishedByValues, settleLost, STEPPED_AS, steppedAsValues, tripCommitSql, tripCommitValues, tripEntries, tripOneStatement, type TripEntry } from './oneTrip.js';
import { Reconnect, type ReconnectOptions } from './reconnect.js';
import { classifyStorageError, reportStorageErrors, toStorageError } from './storageErrors.js';

/** Options of `PostgresStore.open`. */
export interface PostgresStoreOptions {
  /**
   * The schema Spine's tables live in (default: the `schema` parameter of the URL, else `public`).
   * Letters, digits and underscores; created when missing.
   */
  schema?: string;
  /** Most connections the pool opens (default 10). */
  maxConnections?: number;
  /** Open without writing anything; migrations are not applied and every transaction is read-only. */
  readonly?: boolean;
  /** Refuse a database (schema) that has no Spine tables yet instead of creating them. */
  mustExist?: boolean;
  /** Injected clock for created/updated times (default Date.now). */
  now?: () => number;
  /** How much refused input is kept (see `DeadLetterRetention`). */
  deadLetters?: Partial<DeadLetterRetention>;
  /**
   * The secret that signs the audit anchor (default `SPINE_SECRET`). Hosts on many
   * machines share one database, so the secret is configuration, never a local file.
   */
  secret?: string;
  /** Milliseconds to wait for a connection before failing (default 10,000). */
  connectTimeoutMs?: number;
  /**
   * What a call does once the store is open and the server stops answering (a restart, a
   * failover): it waits up to `maxWaitMs` (default 60 s), trying again after a growing pause,
   * while one line (`spine: PostgreSQL at host:port unreachable (ECONNREFUSED); retrying in 2s`)
   * goes to `report` (default stderr).
   */
  reconnect?: ReconnectOptions;
}

/** Runs one statement on the connection of the current transaction (or the pool). */
export type Query = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** SQLSTATEs after which a transaction is simply tried again: serialization failure and deadlock. */
const RETRY_TX = new Set(['40001', '40P01']);
const INT8 = 20;
/** Pooled connections that have their between-queries 'error' listener (see `#connect`). */
const ATTACHED = new WeakSet<pg.PoolClient>();

/** The mailbox source of an activity's result event: `activity:<job key>` (see ActivityRunner). */
const ACTIVITY_SOURCE = 'activity:';
/** Shorter outputs are cheaper copied than referred to (the same rule as SqliteStore, so both write the same bytes). */
const MIN_SHARED_OUTPUT = 64;
/**
 * The history feed's fence. Row ids come from a sequence when a row is inserted, so concurrent
 * transactions can commit them out of order, and a live tail reading `row_id > cursor` would step
 * over a row that commits after a higher one. So a transaction inserting a history row first takes
 * a shared advisory lock keyed (schema, the sequence's next value): a number no greater than the
 * id it then gets, visible to every session at once and released at its commit or rollback. A feed
 * read returns only rows below the lowest such key (`FEED_FENCE`): in one statement, its snapshot
 * is taken before it looks at the locks, so a transaction that took its lock after that snapshot
 * gets an id above every row the snapshot shows. Cost per step: one lock-table entry, no round trip.
 * Keys are int4: past 2^31 history rows the fence stays at the top, and a tail then moves on only
 * while no history write is in flight.
 */
const feedFenceLock = (key: string) =>
  `(SELECT pg_advisory_xact_lock_shared(${key}, LEAST(CASE WHEN is_called THEN last_value + 1 ELSE last_value END, 2147483647)::int) FROM history_row_id_seq) fence`;
/** The fence lock of the history statements whose 14th parameter is the schema's key. */
const FEED_FENCE_LOCK = feedFenceLock('$14');
/** The lowest row id a history write in flight may still commit (a huge number when none is in flight); `$1` is the schema's key. */
const FEED_FENCE = `(SELECT COALESCE(MIN(objid::text::bigint), 9007199254740991) FROM pg_locks
  WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $1::int::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

/** History rows with the output of the job each refers to. */
const HISTORY_ROWS = 'SELECT h.*, j.output AS shared FROM history h LEFT JOIN jobs j ON j.key = h.job_key';

/** Thrown inside a run-control transaction whose fence failed: rolls it back; the method returns false. */
class Fenced extends Error {}

/** Asks the async reader for the bodies a delta needs (the decoder itself reads synchronously). */
class NeedChain extends Error {
  constructor(
    readonly actorId: string,
    readonly seq: number,
  ) {
    super(`history chain of ${actorId} before ${seq}`);
  }
}

class Rollback extends Error {
  constructor(readonly reason: 'conflict' | 'consumed' | 'queued' | 'fenced') {
    super(reason);
  }
}

/** Undoes a resolution whose approval or job moved on meanwhile. */
class Stale extends Error {}

/** BIGINT columns (times, ids, counts) come back as JavaScript numbers: every value Spine stores fits in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The scale-out store: Spine's tables in one PostgreSQL schema, reached through a
 * node-postgres pool. Every method that writes more than one row is one
 * transaction; step commits are conditional on the actor's seq, claims use
 * `FOR UPDATE SKIP LOCKED`, and the audit chain has one writer at a time (the
 * anchor row's lock). Same semantics as `SqliteStore`, checked by the same
 * `runStoreContract`.
 *
 * @example
 * const store = await PostgresStore.open('postgres://spine@db.internal:5432/spine');
 */
export class PostgresStore implements Store {
  readonly pool: pg.Pool;
  /** The pool's size: how many statements this store runs at once (hosts size their concurrent drains by it). */
  readonly connections: number;
  /** The schema holding Spine's tables. */
  readonly schema: string;
  /** Where the store is, for messages: host, port, database and schema (never the password). */
  readonly where: string;
  readonly #now: () => number;
  readonly #retention: DeadLetterRetention;
  readonly #secret: string | undefined;
  /** Remembers each recently read actor's latest decoded snapshot: history rows are deltas against it. */
  readonly #decoder = new HistoryDecoder();
  /** The LISTEN/NOTIFY channel of this schema's hosts (see `wakeHosts`). */
  readonly #wakeChannel: string;
  readonly #wake: WakeListener;
  readonly #reconnect: Reconnect;
  /** The advisory-lock namespace of this schema's history feed fence (see `FEED_FENCE`). */
  readonly #feedKey: number;
  readonly #crashInBatch = crashInBatchHook();
  /** The actors this store committed lately, with the base of their next step's history delta (see `oneTrip.ts`). */
  readonly #bases = new CommitBases();
  /** One connection of its own for lease renewals, so a renewal never queues behind the work that fills the pool. */
  #leasePool: pg.Pool | undefined;
  #leaseConfig: pg.ClientConfig | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, schema: string, where: string, options: PostgresStoreOptions, client: pg.ClientConfig, server: string) {
    this.pool = pool;
    this.connections = options.maxConnections ?? 10;
    this.#reconnect = new Reconnect(server, options.reconnect);
    this.#feedKey = createHash('sha256').update(`spine.history.${schema}`).digest().readUInt32BE(0) & 0x7fffffff;
    this.schema = schema;
    this.where = where;
    this.#wakeChannel = wakeChannelOf(schema);
    this.#wake = new WakeListener(client, this.#wakeChannel);
    this.#now = options.now ?? Date.now;
    this.#retention = deadLetterRetention(options.deadLetters);
    this.#secret = options.secret ?? (process.env.SPINE_SECRET || undefined);
  }

  /**
   * Opens (or creates) Spine's schema in a PostgreSQL database. A schema holding
   * another application's tables, or written by a newer Spine, is refused before
   * anything is written.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { connectionString, schema, where, server } = parseUrl(url, options.schema);
    const startup = [`-c search_path=${schema}`];
    if (options.readonly) startup.push('-c default_transaction_read_only=on');
    const client: pg.ClientConfig = { connectionString, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000, options: startup.join(' '), types };
    // Pipelining: a connection sends queued statements without waiting for each answer (a group commit's reads, then its writes and COMMIT).
    // `connectTimeoutMs` bounds opening a connection, never the wait for a free one: a call queued
    // behind the host's own work is back-pressure, not a fault (pg's pool would fail it with an
    // error no retry path knows, and a step failing that way twice would end its run).
    const pool = new pg.Pool({ ...client, connectionTimeoutMillis: 0, Client: connectingWithin(client.connectionTimeoutMillis!), max: options.maxConnections ?? 10, pipeline: true } as pg.PoolConfig);
    // An idle connection the server dropped (a restart) must not crash the process: the pool
    // discards it and the next call opens another (waiting, with a message, while the server is down).
    pool.on('error', () => {});
    // The LISTEN connection needs neither the schema nor read-only mode (LISTEN writes nothing).
    const store = new PostgresStore(pool, schema, where, options, { connectionString, connectionTimeoutMillis: client.connectionTimeoutMillis, types }, server);
    store.#leaseConfig = client;
    try {
      const state = await inspectSchema(store.#query, schema, where);
      if (state === 'empty' && (options.readonly || options.mustExist)) throw new SpineError('store_refused', `No Spine database at ${where} (the schema has no Spine tables).`);
      // Up to date already (every open after the first): nothing to lock or write.
      if (!options.readonly && (state === 'empty' || state.version < migrations.length)) await store.#migrate(schema);
    } catch (error) {
      await pool.end().catch(() => {});
      throw toStorageError(error, where);
    }
    return store;
  }

  // ---- plumbing -------------------------------------------------------------------

  /**
   * Runs one statement on a pooled connection. While the server is unreachable it waits (see
   * `Reconnect`); a statement cut off by a dropped connection is sent again only when it is a
   * read, since a write's outcome is then unknown (the caller gets `storage_busy` and tries again).
   */
  readonly #query: Query = async <R,>(sql: string, params?: unknown[]) => this.#statement<R>({ text: sql, values: params }, /^\s*SELECT\b/i.test(sql) ? 'read' : undefined);

  /**
   * A read every host runs at each poll, as a named statement: each connection plans it once,
   * not at every poll (unnamed, the poll's reads spent ~2 ms of server time a poll planning, ten
   * polls a second per idle host).
   */
  readonly #polled = async <R,>(name: string, sql: string, params: unknown[]) => this.#statement<R>({ name, text: sql, values: params }, 'read');

  /**
   * One statement on a pooled connection, waiting while the server is unreachable. Cut off by a
   * dropped connection, a read is sent again; a write is sent again only when it says how to tell
   * that it committed (`written`, asked once the server is back, and when the write sent again is
   * refused as a duplicate); any other write's error is the caller's.
   */
  async #statement<R>(query: pg.QueryConfig, lost: 'read' | { written(): Promise<boolean> } | undefined): Promise<R[]> {
    const deadline = this.#reconnect.deadline();
    for (let attempt = 0; ; attempt++) {
      const client = await this.#connect(deadline);
      let dropped: unknown;
      try {
        return (await client.query(query)).rows as R[];
      } catch (error) {
        // Sent again after a lost answer, and refused as a duplicate: the first one committed after the look.
        if (attempt > 0 && typeof lost === 'object' && (error as { code?: string }).code === '23505' && (await lost.written())) return [];
        if (classifyStorageError(error) !== 'unreachable' || !lost) throw error;
        dropped = error;
      } finally {
        client.release(dropped !== undefined);
      }
      await this.#reconnect.pause(dropped, attempt, deadline);
      if (typeof lost === 'object' && (await lost.written())) return [];
    }
  }

  /**
   * A pooled connection (waiting while the server is unreachable). While it is checked out a
   * dropped connection is reported by the query that meets it; the 'error' event the client emits
   * between queries must not crash the process.
   */
  async #connect(deadline: number): Promise<pg.PoolClient> {
    const client = await this.#reconnect.connect(this.pool, deadline);
    if (!ATTACHED.has(client)) {
      ATTACHED.add(client);
      client.on('error', () => {});
    }
    return client;
  }

  /** Runs `fn` in one transaction on one connection; tried again on a serialization failure or a deadlock. */
  async #tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return this.#transaction('BEGIN', 5, fn, true);
  }

  /** Runs `fn` in one read-only transaction: every statement sees the same snapshot. */
  async #read<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    return this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 1, fn);
  }

  /**
   * Runs `fn` between `begin` and COMMIT on one connection, up to `attempts` times when it fails
   * retryably. A connection that drops before COMMIT is sent leaves nothing behind (the server
   * rolls the transaction back), so `fn` runs again once the server is back. A connection that
   * drops while COMMIT is under way leaves the outcome unknown: a write transaction then asks the
   * server by its transaction id whether it committed (and returns as if COMMIT had answered)
   * instead of applying its writes a second time.
   */
  async #transaction<T>(begin: string, attempts: number, fn: (q: Query) => Promise<T>, writes = false): Promise<T> {
    const deadline = this.#reconnect.deadline();
    for (let attempt = 1, drops = 0; ; attempt++) {
      const client = await this.#connect(deadline);
      const q: Query = async <R,>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[];
      let broken = false;
      let xid: number | undefined;
      let done: { result: T } | undefined;
      let dropped: unknown;
      try {
        if (writes) {
          // The transaction id comes in BEGIN's round trip: what to ask about if COMMIT goes unanswered.
          const [, id] = (await client.query(`${begin}; SELECT txid_current() AS xid`)) as unknown as [unknown, pg.QueryResult<{ xid: number }>];
          xid = id.rows[0]!.xid;
        } else await client.query(begin);
        done = { result: await fn(q) };
        await client.query('COMMIT');
        return done.result;
      } catch (error) {
        if (classifyStorageError(error) !== 'unreachable') {
          await client.query('ROLLBACK').catch(() => (broken = true));
          const code = (error as { code?: string }).code;
          if (code && RETRY_TX.has(code) && attempt < attempts) continue;
          throw error;
        }
        broken = true;
        dropped = error;
      } finally {
        client.release(broken);
      }
      // The connection dropped. Before COMMIT the server rolled everything back; during COMMIT a
      // read has its answer already, and a write asks whether it committed.
      if (done && (!writes || (await this.#reconnect.committed(this.pool, xid!, deadline)))) return done.result;
      await this.#reconnect.pause(dropped, drops++, deadline);
      attempt--; // a dropped connection is no failed attempt
    }
  }

  async #migrate(schema: string): Promise<void> {
    await this.#tx(async (q) => {
      // Two hosts opening a new database at once: one creates the tables, the other waits, then sees them.
      await q('SELECT pg_advisory_xact_lock(hashtext($1))', [`spine.migrate.${schema}`]);
      await q(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      const state = await inspectSchema(q, schema, this.where);
      const version = state === 'empty' ? 0 : state.version;
      for (let next = version; next < migrations.length; next++) await q(migrations[next]!);
      await q("INSERT INTO spine_meta (key, value) VALUES ('application', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [APPLICATION]);
      await q("INSERT INTO spine_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [String(migrations.length)]);
      await settlePendingAnchor(q, this.#secret);
    });
  }

  // ---- machine versions ---------------------------------------------------------

  async saveMachineVersion(machine: string, version: string, definition: string): Promise<void> {
    if ((await this.#query('SELECT 1 FROM machine_versions WHERE machine = $1 AND version = $2', [machine, version])).length) return;
    await this.#tx(async (q) => {
      const now = this.#now();
      const [previous] = await q<{ version: string }>('SELECT version FROM machine_versions WHERE machine = $1 ORDER BY created_at DESC, ord DESC LIMIT 1', [machine]);
      const inserted = await q('INSERT INTO machine_versions (machine, version, definition, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1', [machine, version, definition, now]);
      if (!inserted.length) return;
      // A new machine version is a governance event: who runs what changes from here on.
      await this.#appendAudit(q, [{ at: now, runId: null, actorId: null, kind: 'machine.version', who: 'system', subject: `${machine}@${version}`, detail: JSON.stringify({ machine, version, previous: previous?.version ?? null }) }]);
    });
  }

  async getMachineVersion(machine: string, version: string): Promise<string | undefined> {
    const [row] = await this.#query<{ definition: string }>('SELECT definition FROM machine_versions WHERE machine = $1 AND version = $2', [machine, version]);
    return row?.definition;
  }

  async listMachineVersions(machine?: string): Promise<{ machine: string; version: string; createdAt: number }[]> {
    const rows = machine
      ? await this.#query<{ machine: string; version: string; created_at: number }>('SELECT machine, version, created_at FROM machine_versions WHERE machine = $1 ORDER BY created_at, ord', [machine])
      : await this.#query<{ machine: string; version: string; created_at: number }>('SELECT machine, version, created_at FROM machine_versions ORDER BY machine, created_at, ord');
    return rows.map((r) => ({ machine: r.machine, version: r.version, createdAt: r.created_at }));
  }

  async moveActorVersion(move: VersionMove): Promise<boolean> {
    return this.#fenced(async (q) => {
      const seq = move.history ? move.history.seq : move.expectedSeq;
      // Fenced on the seq and the version read: a step or another move meanwhile refuses this one.
      const [row] = await q<{ snapshot: string | null }>(
        "UPDATE actors SET version = $1, seq = $2, updated_at = $3 WHERE id = $4 AND seq = $5 AND version = $6 AND status = 'active' RETURNING snapshot",
        [move.to, seq, move.at, move.actorId, move.expectedSeq, move.from],
      );
      if (!row) throw new Fenced();
      // The move keeps the snapshot: the row's snapshot is the base of the step's delta.
      if (move.history) await this.#insertHistory(q, move.history, row.snapshot);
      if (move.audit?.length) await this.#appendAudit(q, move.audit);
    });
  }

  // ---- actors -------------------------------------------------------------------

  async createActors(actors: NewActor[], events: NewEvent[]): Promise<CreatedActors> {
    const now = this.#now();
    if (!actors.length) {
      const eventIds = await this.#tx(async (q) => {
        const ids: number[] = [];
        for (const event of events) ids.push(await insertEvent(q, event, now));
        return ids;
      });
      return { actors: [], eventIds };
    }
    // One statement, its own transaction: one round trip for a run's start (was four: BEGIN, two
    // INSERTs, COMMIT). When its answer is lost, the first actor's row as written (its id and
    // creation time) tells whether it committed; it is not sent again blindly.
    const written = async () => (await this.#query('SELECT 1 FROM actors WHERE id = $1 AND created_at = $2', [actors[0]!.id, now])).length > 0;
    const rows = await this.#statement<{ id: number }>({ name: 'spine_create_actors', text: CREATE_ACTORS, values: createActorsValues(actors, events, now) }, { written });
    for (const actor of actors) this.#bases.created(actor.id, actor.runId);
    // Ids come from one sequence in the order the rows were inserted (the events' given order); a
    // lost answer found committed returns no rows, and the ids are not known then.
    const eventIds = rows.length === events.length ? rows.map((r) => r.id).sort((a, b) => a - b) : undefined;
    return { actors: actors.map((actor) => createdActor(actor, now)), ...(eventIds ? { eventIds } : {}) };
  }

  async getActor(id: string, options: { snapshot?: boolean } = {}): Promise<ActorRecord | undefined> {
    const [row] = await this.#query<ActorRow>('SELECT * FROM actors WHERE id = $1', [id]);
    return row && toActor(options.snapshot === false ? { ...row, snapshot: null } : row);
  }

  async listActors(query: ActorQuery = {}): Promise<ActorRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.rootsOnly) where.push('parent_id IS NULL');
    if (query.runId) where.push(`run_id = $${params.push(query.runId)}`);
    if (query.status?.length) where.push(`status = ANY($${params.push(query.status)})`);
    if (query.after) {
      const at = params.push(query.after.createdAt);
      where.push(`created_at <= $${at} AND (created_at < $${at} OR id > $${params.push(query.after.id)})`);
    }
    const sql = `SELECT * FROM actors ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${params.push(query.limit ?? 1000)}`;
    const rows = await this.#query<ActorRow>(sql, params);
    return rows.map((row) => toActor(query.snapshots === false ? { ...row, snapshot: null } : row));
  }

  async childrenOf(parentId: string): Promise<{ id: string; childKey: string; machine: string; seq: number }[]> {
    const rows = await this.#query<{ id: string; child_key: string; machine: string; seq: number }>(
      "SELECT id, child_key, machine, seq FROM actors WHERE parent_id = $1 AND status = 'active' ORDER BY created_at, id",
      [parentId],
    );
    return rows.map((r) => ({ id: r.id, childKey: r.child_key, machine: r.machine, seq: r.seq }));
  }

  async openWorkOf(actorIds: string[]): Promise<OpenWork[]> {
    if (!actorIds.length) return [];
    // One statement, so one snapshot (the three lists agree with each other) and one round trip: every
    // finishing step reads this.
    // Named (prepared once per connection): planning its three subqueries cost the server about 0.5 ms a run.
    const [row] = await this.#statement<{
      jobs: { actor_id: string; key: string; child_id: string; status: JobStatus }[];
      approvals: { actor_id: string; id: string; run_id: string; child_id: string; src: string; job_key: string }[];
      timers: { source: string; send_id: string }[];
    }>({ name: 'spine_open_work', text: OPEN_WORK, values: [actorIds] }, 'read');
    const { jobs, approvals, timers } = row!;
    return actorIds.map((actorId) => ({
      actorId,
      jobs: jobs.filter((j) => j.actor_id === actorId).map((j) => ({ key: j.key, childId: j.child_id, status: j.status })),
      approvals: approvals.filter((a) => a.actor_id === actorId).map((a) => ({ id: a.id, runId: a.run_id, childId: a.child_id, src: a.src, jobKey: a.job_key })),
      timers: timers.filter((t) => t.source === actorId).map((t) => t.send_id),
    }));
  }

  // ---- mailbox ------------------------------------------------------------------

  async enqueue(events: NewEvent[]): Promise<number[]> {
    if (events.length === 1) return [await insertEvent(this.#query, events[0]!, this.#now())];
    return this.#tx(async (q) => {
      const now = this.#now();
      const ids: number[] = [];
      for (const e of events) ids.push(await insertEvent(q, e, now));
      return ids;
    });
  }

  async enqueueIfActive(event: NewEvent): Promise<QueuedEvent | undefined> {
    const [row] = await this.#statement<QueuedEvent>({ name: 'spine_enqueue_if_active', text: INSERT_EVENT_IF_ACTIVE, values: eventValues(event, this.#now()) }, undefined);
    return row;
  }

  async nextEvents(actorId: string, now: number, limit: number): Promise<MailboxEvent[]> {
    return (await this.#statement<EventRow>({ name: 'spine_next_events', text: 'SELECT * FROM events WHERE actor_id = $1 AND due_at <= $2 ORDER BY due_at, id LIMIT $3', values: [actorId, now, limit] }, 'read')).map(toEvent);
  }

  async discardEvent(eventId: number, deadLetter: NewDeadLetter): Promise<void> {
    await this.#tx(async (q) => {
      if ((await q('DELETE FROM events WHERE id = $1 RETURNING id', [eventId])).length) await this.#insertDeadLetter(q, deadLetter, this.#now());
    });
  }

  async commitStep(step: StepCommit): Promise<CommitResult> {
    // A step this store can write without reading (it knows the actor's snapshot at the seq expected): one round trip.
    const trip = tripEntries([{ step }], this.#bases);
    if (trip) {
      const tripped = await this.#oneTrip(trip);
      if (Array.isArray(tripped)) return tripped[0] as CommitResult;
      if (tripped === 'unknown') {
        const [settled] = await this.#settleTrip(trip, [{ step }]);
        if (!settled!.ok && settled!.reason === 'failed') throw settled!.error; // as the general path below throws it
        return settled as CommitResult;
      }
    }
    const [fast] = (await this.#pipelined([{ step }])) ?? [];
    if (fast) return fast as CommitResult;
    try {
      return await this.#tx((q) => this.#commit(q, step));
    } catch (error) {
      if (error instanceof Rollback && error.reason !== 'queued') return { ok: false, reason: error.reason };
      throw error;
    }
  }

  /** A run's actor is created with its first step in one commit (`BatchEntry.create`): in the pipelined transaction, else in the entry's savepoint. */
  readonly createsWithStep = true;

  async commitBatch(entries: BatchEntry[]): Promise<BatchResult[]> {
    if (!entries.length) return [];
    for (const entry of entries) checkCreateEntry(entry);
    // The crash tests kill a host halfway through a batch's writes, which only the pipelined path stops at.
    const trip = this.#crashInBatch && entries.length >= 2 ? undefined : tripEntries(entries, this.#bases);
    const tripped = trip && (await this.#oneTrip(trip));
    if (Array.isArray(tripped)) return tripped;
    if (tripped === 'unknown') return this.#settleTrip(trip!, entries);
    return (await this.#pipelined(entries)) ?? (await this.#savepointBatch(entries));
  }

  /**
   * A one-trip commit whose answer was lost (no transaction id to ask about): the general path runs
   * the entries again, taking the rows' locks (so the lost transaction has ended), and an entry it
   * refuses committed after all if its result's job is finished by its attempt, or (a mailbox step)
   * if its history row is the one the trip wrote.
   */
  async #settleTrip(trip: TripEntry[], entries: BatchEntry[]): Promise<BatchResult[]> {
    const results = (await this.#pipelined(entries)) ?? (await this.#savepointBatch(entries));
    const finished = trip.some((t) => t.completion) ? await this.#query<{ key: string }>(FINISHED_BY, finishedByValues(trip)) : [];
    const history = trip.map(({ completion, step, base }) => this.#tripHistory(completion, step, base));
    const stepped = trip.some((t) => !t.completion) ? await this.#query<{ actor_id: string }>(STEPPED_AS, steppedAsValues(trip, history)) : [];
    return settleLost(results, new Set(finished.map((r) => r.key)), new Set(stepped.map((r) => r.actor_id)), trip);
  }

  /** A trip entry's history row (`historyValues`): a result's output is shared with its job's row; a mailbox event is kept whole. */
  #tripHistory(completion: TripEntry['completion'], step: StepCommit, base: TripEntry['base']): unknown[] {
    const shared = completion ? sharedOutput(completion.event.source, step.history.event, completion.status === 'done' ? completion.output : null) : undefined;
    const record = stepHistory(step, base.runId, step.expectedSeq + 1);
    return historyValues(record, base.snapshot, shared);
  }

  /**
   * A one-trip commit (see `oneTrip.ts`): one statement, its own transaction. Undefined when
   * nothing was written (a condition failed, a row was refused, or the transaction is known to
   * have rolled back): the pipelined path then decides. `unknown` when the connection dropped
   * before the answer came back: the transaction may have committed, and the caller runs the
   * batch again, then tells its own commit by the jobs.
   */
  async #oneTrip(trip: TripEntry[]): Promise<BatchResult[] | 'unknown' | undefined> {
    const deadline = this.#reconnect.deadline();
    const client = await this.#connect(deadline);
    let broken = false;
    try {
      const now = this.#now();
      const finished = trip.flatMap(({ completion }) => (completion ? [finishJobValues(completion, now)] : []));
      const history = trip.map(({ completion, step, base }) => this.#tripHistory(completion, step, base));
      const statement = tripOneStatement(trip, finished, history, this.#feedKey, feedFenceLock) ?? { name: 'spine_trip_commit', text: TRIP_COMMIT, values: tripCommitValues(trip, finished, history, this.#feedKey) };
      try {
        // Corked: the statement's four protocol messages leave in one write.
        await corking(client)(() => client.query(statement));
      } catch (error) {
        for (const { step } of trip) this.#bases.forget(step.actorId);
        if (classifyStorageError(error) !== 'unreachable') return undefined; // rolled back: a condition failed or a row was refused
        broken = true;
        return 'unknown';
      }
      for (const { step, base } of trip) this.#bases.committed(step, base.runId);
      return trip.map(() => ({ ok: true }));
    } finally {
      client.release(broken);
    }
  }

  /**
   * A group commit in two round trips, whatever its size: BEGIN and the locking reads every
   * entry's conditions need are sent together; the decisions are made here; then every write
   * and COMMIT are sent together (node-postgres pipelining). Undefined, with nothing written,
   * when the batch needs the general path: an entry with checks that need their own reads
   * (stops, approvals to cancel, audit rows), two entries for one actor or job, or a write
   * refused for what it contains (the general path then fails that entry alone).
   */
  async #pipelined(entries: BatchEntry[]): Promise<BatchResult[] | undefined> {
    if (!entries.every(isPlainEntry)) return undefined;
    const steps = entries.flatMap((e) => (e.step ? [e.step] : []));
    const completions = entries.flatMap((e) => (e.completion ? [e.completion] : []));
    if (new Set(steps.map((st) => st.actorId)).size !== steps.length || new Set(completions.map((c) => c.key)).size !== completions.length) return undefined;
    const deadline = this.#reconnect.deadline();
    const client = await this.#connect(deadline);
    let broken = false;
    try {
      const send = (text: string, values?: unknown[], name?: string) => client.query(name ? { name, text, values } : { text, values }).then((r) => r.rows as Record<string, unknown>[]);
      const together = corking(client);
      const direct = entries.filter((e) => e.completion && e.step);
      const mailboxIds = steps.flatMap((st) => (st.eventId === null ? [] : [st.eventId]));
      const reads = await settle(
        together(() => [
          send('BEGIN'),
          send(
            BATCH_READ,
            [
              steps.map((st) => st.actorId),
              completions.map((c) => c.key),
              direct.map((e) => e.step!.actorId),
              direct.map((e) => e.completion!.event.dueAt),
              mailboxIds,
            ],
            'spine_batch_read',
          ),
        ]),
      );
      if (!reads.ok) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        // Nothing was written: the general path runs it (and waits out an unreachable server).
        if (isContentError(reads.error) || isRetryable(reads.error) || classifyStorageError(reads.error) === 'unreachable') return undefined;
        throw reads.error;
      }
      const [read] = reads.values[1] as { xid: number; actors: ActorLock[]; jobs: { key: string; status: string; owner: string | null; attempts: number }[]; due: string[]; events: { id: number; source: string; output: string | null }[] }[];
      const { xid, actors: actorRows, jobs: jobRows, due: dueRows, events: eventRows } = read!;
      const actors = new Map(actorRows.map((a) => [a.id, a]));
      const jobs = new Map(jobRows.map((j) => [j.key, j]));
      const waiting = new Set(dueRows);
      const events = new Map(eventRows.map((e) => [e.id, e]));
      const now = this.#now();
      const rows = new BatchRows(this.#feedKey);
      const results = entries.map(({ completion, step, create }): BatchResult => {
        if (create) {
          // A taken id fails the entry alone, as the insert would (nothing of it is written); an
          // actor inserted by another transaction meanwhile fails the insert, and the general path decides.
          if (actors.has(create.id)) return { ok: false, reason: 'failed', error: new SpineError('conflict', `An actor with id '${create.id}' already exists.`, { actorId: create.id }) };
          rows.create(create, now);
          rows.step(step!, { run_id: create.runId, snapshot: null }, undefined);
          return { ok: true };
        }
        if (completion) {
          const job = jobs.get(completion.key);
          // Fenced by owner and attempt, as FINISH_JOB: a result of an attempt taken over is refused.
          if (!job || job.status !== 'running' || job.owner !== completion.owner || (completion.attempt !== undefined && job.attempts !== completion.attempt)) {
            return { ok: false, reason: takenOver(job, completion) ? 'refused' : 'cancelled' };
          }
          rows.finished.push(finishJobValues(completion, now));
        }
        const refused = (reason: 'conflict' | 'consumed' | 'queued' | 'fenced'): BatchResult => {
          if (completion) rows.events.push(eventValues(completion.event, now));
          return { ok: false, reason };
        };
        if (!step) {
          if (completion) rows.events.push(eventValues(completion.event, now));
          return { ok: true };
        }
        const before = actors.get(step.actorId);
        // The fence: only the owner at the epoch it claimed may commit (another host took the actor over).
        if (before && step.fence && (before.owner !== step.fence.owner || before.owner_epoch !== step.fence.epoch)) return refused('fenced');
        if (!before || before.seq !== step.expectedSeq || before.status !== 'active') return refused('conflict');
        let shared: { key: string; output: string } | undefined;
        if (step.eventId === null) {
          // A result applied directly: only when nothing older waits in the mailbox, so events keep their order.
          if (!completion || waiting.has(step.actorId)) return refused('queued');
          shared = sharedOutput(completion.event.source, step.history.event, completion.status === 'done' ? completion.output : null);
        } else {
          const event = events.get(step.eventId);
          if (!event) return refused('consumed');
          shared = sharedOutput(event.source, step.history.event, event.output);
        }
        rows.step(step, before, shared);
        return { ok: true };
      });
      const writes = rows.statements(send);
      if (this.#crashInBatch && entries.length >= 2) {
        // Half of the writes sent and answered, the transaction open: where the crash tests kill the host.
        const half = writes.splice(0, Math.max(1, writes.length >> 1));
        await settle(together(() => half.map((w) => w())));
        this.#crashInBatch(entries.length);
      }
      const written = await settle(together(() => [...writes.map((w) => w()), send('COMMIT')]));
      if (!written.ok && classifyStorageError(written.error) === 'unreachable') {
        // The connection dropped, maybe during COMMIT: ask whether the batch committed rather than
        // apply it again (a second try would refuse its steps and strand the jobs it claimed).
        broken = true;
        if (!(await this.#reconnect.committed(this.pool, xid, deadline))) return undefined;
        this.#noteBases(entries, results, actors);
        return results;
      }
      if (!written.ok) {
        // A failed statement aborted the transaction: COMMIT rolled it back, nothing is written.
        await client.query('ROLLBACK').catch(() => (broken = true));
        if (isContentError(written.error) || isRetryable(written.error)) return undefined;
        throw written.error;
      }
      this.#noteBases(entries, results, actors);
      return results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Notes the bases of the steps a pipelined batch committed (and forgets those of the steps it refused). */
  #noteBases(entries: BatchEntry[], results: BatchResult[], actors: Map<string, ActorLock>): void {
    entries.forEach(({ step, create }, i) => {
      if (!step) return;
      if (!results[i]!.ok) this.#bases.forget(step.actorId);
      else if (create) {
        this.#bases.created(create.id, create.runId);
        this.#bases.committed(step, create.runId);
      } else this.#bases.committed(step, actors.get(step.actorId)!.run_id);
    });
  }

  /** The general group commit: entry by entry, each in its own savepoint. */
  async #savepointBatch(entries: BatchEntry[]): Promise<BatchResult[]> {
    return this.#tx(async (q) => {
      const results: BatchResult[] = [];
      for (const [index, entry] of entries.entries()) {
        if (this.#crashInBatch && index === entries.length >> 1) this.#crashInBatch(entries.length);
        // Each entry in its own savepoint: a refusal undoes that entry alone.
        await q('SAVEPOINT spine_entry');
        try {
          results.push(await this.#entry(q, entry));
        } catch (error) {
          // Only a refusal for what the entry contains is the entry's alone; anything else (I/O, a lock) fails the batch.
          const refused = error instanceof Rollback && !entry.completion;
          if (!refused && !isContentError(error)) throw error;
          await q('ROLLBACK TO SAVEPOINT spine_entry');
          results.push(refused ? { ok: false, reason: (error as Rollback).reason } : { ok: false, reason: 'failed', error: error as Error });
        }
        await q('RELEASE SAVEPOINT spine_entry');
      }
      return results;
    });
  }

  async #entry(q: Query, { completion, step, create }: BatchEntry): Promise<BatchResult> {
    const now = this.#now();
    if (create) {
      // The row as createActors writes it, then its first step, whose event has no mailbox row.
      await insertActor(q, create, now);
      return this.#commit(q, step!, { dueAt: now, source: create.id });
    }
    if (completion) {
      if (!(await finishJob(q, completion, now))) return notFinished(q, completion);
      if (completion.audit?.length) await this.#appendAudit(q, completion.audit);
    }
    if (!step) {
      if (completion) await insertEvent(q, completion.event, now);
      return { ok: true };
    }
    if (!completion) return this.#commit(q, step);
    await q('SAVEPOINT spine_step');
    try {
      await this.#commit(q, { ...step, eventId: null }, { dueAt: completion.event.dueAt, source: completion.event.source });
      await q('RELEASE SAVEPOINT spine_step');
      return { ok: true };
    } catch (error) {
      // The step is refused but the result is kept: it waits in the mailbox like any other event.
      if (!(error instanceof Rollback) && !isContentError(error)) throw error;
      await q('ROLLBACK TO SAVEPOINT spine_step');
      await q('RELEASE SAVEPOINT spine_step');
      await insertEvent(q, completion.event, now);
      return { ok: false, reason: error instanceof Rollback ? error.reason : 'queued' };
    }
  }

  /** Writes a step. `direct`: an activity result applied without the mailbox (its due time and source). */
  async #commit(q: Query, step: StepCommit, direct?: { dueAt: number; source: string }): Promise<CommitResult> {
    const now = step.history.startedAt;
    const seq = step.expectedSeq + 1;
    // The row lock makes a concurrent commit of the same actor wait, then find the seq moved. The
    // snapshot read is the one being replaced: the base of this step's history delta.
    const [before] = await q<{ run_id: string; seq: number; status: string; snapshot: string | null; owner: string | null; owner_epoch: number }>(
      'SELECT run_id, seq, status, snapshot, owner, owner_epoch FROM actors WHERE id = $1 FOR UPDATE',
      [step.actorId],
    );
    // The fence: only the owner at the epoch it claimed may commit (another host took the actor over).
    if (before && step.fence && (before.owner !== step.fence.owner || before.owner_epoch !== step.fence.epoch)) throw new Rollback('fenced');
    if (!before || before.seq !== step.expectedSeq || before.status !== 'active') throw new Rollback('conflict');
    await q(UPDATE_ACTOR, [seq, step.status, step.snapshot, step.stateValue, step.output, step.error, now, step.actorId]);
    let source: string;
    if (step.eventId === null) {
      // A result applied directly: only when nothing older waits in the mailbox, so events keep their order.
      if (direct === undefined || (await q('SELECT 1 FROM events WHERE actor_id = $1 AND due_at <= $2 LIMIT 1', [step.actorId, direct.dueAt])).length) throw new Rollback('queued');
      source = direct.source;
    } else {
      const [consumed] = await q<{ source: string }>('DELETE FROM events WHERE id = $1 RETURNING source', [step.eventId]);
      if (!consumed) throw new Rollback('consumed');
      source = consumed.source;
    }
    const record = stepHistory(step, before.run_id, seq);
    await this.#insertHistory(q, record, before.snapshot, await outputOf(q, source, step.history.event));
    for (const actor of step.spawn) await insertActor(q, actor, now);
    // Cancels first: they name timers stored before this step; a timer this step re-arms with the same id stays.
    for (const sendId of step.cancelTimers) await q('DELETE FROM events WHERE source = $1 AND send_id = $2', [step.actorId, sendId]);
    for (const message of step.messages) await insertEvent(q, message, now);
    for (const childId of step.cancelJobs) await cancelJobsOf(q, now, step.actorId, childId);
    for (const job of step.jobs) await insertJob(q, job, now);
    for (const approval of step.approvals ?? []) await insertApproval(q, approval);
    // The plan was made from earlier reads: an approval decided meanwhile, or an actor that moved, makes it stale.
    for (const id of step.cancelApprovals ?? []) if (!(await cancelApproval(q, now, id))) throw new Rollback('conflict');
    for (const stop of step.stop) {
      // A stop is a state change like any other: seq + 1 and a history row, so timelines and
      // other processes' live views see it (and a host holding the old seq cannot commit).
      const [actor] = await q<{ run_id: string; seq: number; snapshot: string | null; state_value: string | null; version: string }>(
        "UPDATE actors SET status = 'stopped', seq = seq + 1, updated_at = $1 WHERE id = $2 AND seq = $3 AND status = 'active' RETURNING run_id, seq, snapshot, state_value, version",
        [now, stop.id, stop.expectedSeq],
      );
      if (!actor) throw new Rollback('conflict');
      await this.#insertHistory(
        q,
        { actorId: stop.id, runId: actor.run_id, seq: actor.seq, eventType: 'xstate.stop', event: '{"type":"xstate.stop"}', stateValue: actor.state_value ?? 'null', snapshot: actor.snapshot ?? 'null', status: 'stopped', version: actor.version, emitted: null, startedAt: now, durationUs: 0 },
        actor.snapshot,
      );
      for (const childId of stop.cancelJobs) await cancelJobsOf(q, now, stop.id, childId);
    }
    for (const letter of step.deadLetters) await this.#insertDeadLetter(q, letter, now);
    if (step.audit?.length) await this.#appendAudit(q, step.audit);
    return { ok: true };
  }

  /**
   * Writes one history row: its event and snapshot as the runtime's codec encodes them (the same
   * bytes SqliteStore writes), a delta against `base`, the snapshot of the actor's row `seq - 1`
   * (null when there is none), referring to `job`'s output instead of copying it.
   */
  async #insertHistory(q: Query, h: HistoryRecord, base: string | null, job?: { key: string; output: string }): Promise<void> {
    await q(INSERT_HISTORY, [...historyValues(h, base, job), this.#feedKey]);
  }

  /**
   * Decodes history rows read in commit (or seq) order. The decoder reads synchronously: a delta
   * whose previous step it has not seen asks for the actor's bodies back to their checkpoint,
   * which are read here and the row decoded again.
   */
  async #decode(rows: HistorySqlRow[]): Promise<HistoryRow[]> {
    const chains = new Map<string, StoredHistoryBody[]>();
    const chainOf = (actorId: string, seq: number) => {
      const chain = chains.get(`${seq}:${actorId}`);
      if (!chain) throw new NeedChain(actorId, seq);
      return chain;
    };
    const out: HistoryRow[] = [];
    for (const r of rows) {
      for (;;) {
        try {
          const { event, snapshot } = this.#decoder.decode({ actorId: r.actor_id, seq: r.seq, body: r.body, shared: r.shared }, chainOf);
          out.push(toHistoryRow(r, event, snapshot));
          break;
        } catch (error) {
          if (!(error instanceof NeedChain)) throw error;
          chains.set(`${error.seq}:${error.actorId}`, await this.#chainOf(error.actorId, error.seq));
        }
      }
    }
    return out;
  }

  /** An actor's bodies from its last checkpoint before `seq` up to `seq - 1`, oldest first. */
  async #chainOf(actorId: string, seq: number): Promise<StoredHistoryBody[]> {
    const rows = await this.#query<{ seq: number; body: Buffer; shared: string | null }>(
      `SELECT h.seq, h.body, j.output AS shared FROM history h LEFT JOIN jobs j ON j.key = h.job_key
       WHERE h.actor_id = $1 AND h.seq < $2 AND h.seq >= (SELECT MAX(seq) FROM history WHERE actor_id = $1 AND seq < $2 AND checkpoint) ORDER BY h.seq`,
      [actorId, seq],
    );
    return rows.map((r) => ({ actorId, seq: r.seq, body: r.body, shared: r.shared }));
  }

  async recordDeadLetters(letters: NewDeadLetter[]): Promise<void> {
    await this.#tx(async (q) => {
      const now = this.#now();
      for (const letter of letters) await this.#insertDeadLetter(q, letter, now);
    });
  }

  async listDeadLetters(actorId?: string): Promise<DeadLetter[]> {
    const rows = actorId
      ? await this.#query<DeadLetterRow>('SELECT * FROM dead_letters WHERE actor_id = $1 ORDER BY id', [actorId])
      : await this.#query<DeadLetterRow>('SELECT * FROM dead_letters ORDER BY id');
    return rows.map(toDeadLetter);
  }

  // ---- jobs ---------------------------------------------------------------------

  async claimJob(key: string, owner: string, now: number, deadOwners: string[]): Promise<JobRecord | undefined> {
    // SKIP LOCKED: a job another host is claiming or completing right now is not ours to wait for.
    const [row] = await this.#query<JobRow>(
      `UPDATE jobs SET status = 'running', owner = $1, attempts = attempts + 1, started_at = $2
       WHERE key = (SELECT key FROM jobs WHERE key = $3 AND ((status = 'pending' AND run_at <= $2) OR (status = 'running' AND ${TAKEABLE('owner', '$4')})) FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [owner, now, key, deadOwners],
    );
    return row && toJob(row);
  }

  async completeJob(completion: JobCompletion): Promise<boolean> {
    return this.#tx(async (q) => {
      const now = this.#now();
      if (!(await finishJob(q, completion, now))) return false;
      await insertEvent(q, completion.event, now);
      if (completion.audit?.length) await this.#appendAudit(q, completion.audit);
      return true;
    });
  }

  async retryJob(retry: JobRetry): Promise<boolean> {
    return this.#tx(async (q) => {
      const rows = await q(
        "UPDATE jobs SET status = 'pending', run_at = $1, journal = $2, owner = NULL WHERE key = $3 AND status = 'running' AND owner = $4 AND attempts = COALESCE($5, attempts) RETURNING key",
        [retry.runAt, retry.journal, retry.key, retry.owner, retry.attempt ?? null],
      );
      if (!rows.length) return false;
      if (retry.audit?.length) await this.#appendAudit(q, retry.audit);
      return true;
    });
  }

  async getJob(key: string): Promise<JobRecord | undefined> {
    const [row] = await this.#query<JobRow>('SELECT * FROM jobs WHERE key = $1', [key]);
    return row && toJob(row);
  }

  async listJobs(query: { runId?: string; actorId?: string; status?: JobStatus[] }): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.runId) where.push(jobsOfRun(`$${params.push(query.runId)}`));
    if (query.actorId) where.push(`actor_id = $${params.push(query.actorId)}`);
    if (query.status?.length) where.push(`status = ANY($${params.push(query.status)})`);
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, key`;
    return (await this.#query<JobRow>(sql, params)).map(toJob);
  }

  // ---- scheduling -----------------------------------------------------------------

  async runnable(now: number, owner: string, deadOwners: string[], limit: number): Promise<{ actors: string[]; jobs: { key: string; actorId: string }[] }> {
    const notHalted = "NOT EXISTS (SELECT 1 FROM approvals p WHERE p.run_id = a.run_id AND p.status = 'pending' AND p.tier = 'high')";
    const ours = `(a.owner IS NULL OR a.owner = $2 OR ${TAKEABLE('a.owner', '$3')})`;
    // One statement (one round trip each poll, one snapshot for both lists).
    const [row] = await this.#polled<{ actors: string[]; jobs: { key: string; actor_id: string }[] }>(
      'spine_runnable',
      `SELECT
         (SELECT COALESCE(json_agg(actor_id), '[]') FROM (
            SELECT DISTINCT e.actor_id FROM events e JOIN actors a ON a.id = e.actor_id WHERE e.due_at <= $1 AND a.status = 'active' AND ${ours} AND ${notHalted} LIMIT $4) due) AS actors,
         (SELECT COALESCE(json_agg(json_build_object('key', key, 'actor_id', actor_id)), '[]') FROM (
            SELECT j.key, j.actor_id FROM jobs j JOIN actors a ON a.id = j.actor_id
            WHERE ((j.status = 'pending' AND j.run_at <= $1) OR (j.status = 'running' AND ${TAKEABLE('j.owner', '$3')}))
              AND a.status = 'active' AND ${ours} AND ${notHalted} LIMIT $4) claimable) AS jobs`,
      [now, owner, deadOwners, limit],
    );
    const { actors, jobs } = row!;
    return { actors, jobs: jobs.map((r) => ({ key: r.key, actorId: r.actor_id })) };
  }

  async nextWakeAt(now: number): Promise<number | undefined> {
    const [row] = await this.#polled<{ e: number | null; j: number | null; d: number | null }>(
      'spine_next_wake',
      `SELECT (SELECT MIN(due_at) FROM events WHERE due_at > $1) AS e, (SELECT MIN(run_at) FROM jobs WHERE status = 'pending' AND run_at > $1) AS j,
         (SELECT MIN(deadline_at) FROM approvals WHERE status = 'pending' AND escalated_at IS NULL AND deadline_at > $1) AS d`,
      [now],
    );
    const candidates = [row!.e, row!.j, row!.d].filter((v): v is number => v !== null);
    return candidates.length ? Math.min(...candidates) : undefined;
  }

  async claimActors(ids: string[], owner: string, deadOwners: string[], _now?: number, limit?: number): Promise<string[]> {
    // Expiry is decided by the database's clock (TAKEABLE), never the caller's.
    if (!ids.length) return [];
    // Actors it holds already are its own without a lock (one of its commits may hold the row right now);
    // of the others, SKIP LOCKED leaves one another host is claiming or committing right now with that host.
    const rows = await this.#query<{ id: string }>(
      `WITH held AS (SELECT id FROM actors WHERE id = ANY($2::text[]) AND status = 'active' AND owner = $1),
       claimed AS (
         UPDATE actors SET owner = $1, owner_epoch = owner_epoch + 1 WHERE id IN (
           SELECT a.id FROM unnest($2::text[]) WITH ORDINALITY AS wanted(id, n) JOIN actors a ON a.id = wanted.id
           WHERE a.status = 'active' AND (a.owner IS NULL OR ${TAKEABLE('a.owner', '$3')})
           ORDER BY wanted.n LIMIT $4 FOR UPDATE OF a SKIP LOCKED
         ) RETURNING id
       )
       SELECT id FROM held UNION SELECT id FROM claimed`,
      [owner, ids, deadOwners, limit ?? null],
    );
    return rows.map((r) => r.id);
  }

  async releaseOwner(owner: string): Promise<void> {
    await this.#tx(async (q) => {
      await q('UPDATE actors SET owner = NULL WHERE owner = $1', [owner]);
      await q("UPDATE jobs SET status = 'pending', owner = NULL WHERE owner = $1 AND status = 'running'", [owner]);
    });
  }

  async heartbeat(host: HostRecord, leaseMs = DEFAULT_LEASE_MS): Promise<{ hosts: HostRecord[]; expired: boolean; found: boolean }> {
    // The database's clock sets and judges every lease, so hosts on machines with skewed clocks agree.
    // One statement: `before` sees the row as it was before the upsert renews it.
    if (this.#closed) throw new SpineError('closed', `The store at ${this.where} is closed: open it again to renew a lease.`);
    if (!this.#leasePool) {
      const config = this.#leaseConfig!;
      this.#leasePool = new pg.Pool({ ...config, connectionTimeoutMillis: 0, Client: connectingWithin(config.connectionTimeoutMillis!), max: 1 });
      this.#leasePool.on('error', () => {}); // as the main pool: the next renewal reconnects
    }
    const leases = this.#leasePool;
    const [renewed] = (
      await leases.query<{ expired: boolean | null; found: boolean }>({
        name: 'spine_renew_lease',
        text: `WITH before AS (SELECT lease_until FROM hosts WHERE id = $1),
         renewed AS (
           INSERT INTO hosts (id, hostname, pid, started_at, heartbeat_at, lease_until) VALUES ($1, $2, $3, $4, $5, spine_now_ms() + $6)
           ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until RETURNING id
         )
         SELECT (SELECT lease_until <= spine_now_ms() FROM before) AS expired, EXISTS (SELECT 1 FROM before) AS found FROM renewed`,
        values: [host.id, host.hostname, host.pid, host.startedAt, host.heartbeatAt, leaseMs],
      })
    ).rows;
    const expired = renewed?.expired === true;
    const found = renewed?.found === true;
    const rows = (await leases.query<{ id: string; hostname: string; pid: number; started_at: number; heartbeat_at: number; lease_until: number }>({ name: 'spine_hosts', text: 'SELECT * FROM hosts ORDER BY id' })).rows;
    return { hosts: rows.map((h) => ({ id: h.id, hostname: h.hostname, pid: h.pid, startedAt: h.started_at, heartbeatAt: h.heartbeat_at, leaseUntil: h.lease_until })), expired, found };
  }

  async removeHost(id: string): Promise<void> {
    await this.#query('DELETE FROM hosts WHERE id = $1', [id]);
  }

  /**
   * Tells every host on this database and schema to look for work now: a NOTIFY on the schema's
   * channel, which each host LISTENs on (`onWake`). Best effort: polling finds the work otherwise.
   */
  wakeHosts(): void {
    if (this.#closed) return;
    this.pool.query('SELECT pg_notify($1, $2)', [this.#wakeChannel, '']).catch(() => {});
  }

  /**
   * Calls `listener` whenever a host on this schema calls `wakeHosts`. One dedicated connection
   * per store LISTENs (a pooled one would be handed to other queries); when it drops it is opened
   * again, and listeners are called once it is back, since a wake may have been missed meanwhile.
   */
  onWake(listener: () => void): () => void {
    if (this.#closed) return () => {};
    return this.#wake.add(listener);
  }

  // ---- history --------------------------------------------------------------------

  async history(actorId: string, options: { fromSeq?: number; limit?: number } = {}): Promise<HistoryRecord[]> {
    const rows = await this.#query<HistorySqlRow>(`${HISTORY_ROWS} WHERE h.actor_id = $1 AND h.seq >= $2 ORDER BY h.seq LIMIT $3`, [actorId, options.fromSeq ?? 0, options.limit ?? 100_000]);
    return (await this.#decode(rows)).map(({ rowId: _rowId, ...record }) => record);
  }

  async runHistory(runId: string, options: { upToRowId?: number; limit?: number; afterRowId?: number } = {}): Promise<HistoryRow[]> {
    const upTo = options.upToRowId ?? Number.MAX_SAFE_INTEGER;
    const rows =
      options.afterRowId !== undefined
        ? // A live tail of the run: fenced like `historySince`.
          await this.#query<HistorySqlRow>(`${HISTORY_ROWS} WHERE h.run_id = $1 AND h.row_id > $2 AND h.row_id <= $3 AND h.row_id < ${FEED_FENCE.replace('$1', '$5')} ORDER BY h.row_id LIMIT $4`, [
            runId,
            options.afterRowId,
            upTo,
            options.limit ?? null,
            this.#feedKey,
          ])
        : options.upToRowId === undefined && options.limit === undefined
          ? await this.#query<HistorySqlRow>(`${HISTORY_ROWS} WHERE h.run_id = $1 ORDER BY h.row_id`, [runId])
          : // The latest `limit` rows up to a row id, returned oldest first.
            await this.#query<HistorySqlRow>(`SELECT * FROM (${HISTORY_ROWS} WHERE h.run_id = $1 AND h.row_id <= $2 ORDER BY h.row_id DESC LIMIT $3) latest ORDER BY row_id`, [runId, upTo, options.limit ?? null]);
    return this.#decode(rows);
  }

  async historyRow(actorId: string, seq: number): Promise<HistoryRow | undefined> {
    const rows = await this.#query<HistorySqlRow>(`${HISTORY_ROWS} WHERE h.actor_id = $1 AND h.seq = $2`, [actorId, seq]);
    return (await this.#decode(rows))[0];
  }

  async historyHead(): Promise<number> {
    const [row] = await this.#query<{ head: number }>(`SELECT COALESCE(MAX(row_id), 0) AS head FROM history WHERE row_id < ${FEED_FENCE}`, [this.#feedKey]);
    return row!.head;
  }

  async historySince(afterRowId: number, limit: number): Promise<HistoryRow[]> {
    return this.#decode(await this.#query<HistorySqlRow>(`${HISTORY_ROWS} WHERE h.row_id > $1 AND h.row_id < ${FEED_FENCE.replace('$1', '$3')} ORDER BY h.row_id LIMIT $2`, [afterRowId, limit, this.#feedKey]));
  }

  async runStats(runId: string, options: { upToRowId?: number } = {}): Promise<RunStats> {
    const [row] = await this.#query<{ steps: number; actors: number; updated: number | null }>(
      `SELECT (SELECT COUNT(*) FROM history WHERE run_id = $1 AND row_id <= $2) AS steps, (SELECT COUNT(*) FROM actors WHERE run_id = $1) AS actors,
         (SELECT MAX(updated_at) FROM actors WHERE run_id = $1) AS updated`,
      [runId, options.upToRowId ?? Number.MAX_SAFE_INTEGER],
    );
    return { steps: row!.steps, actors: row!.actors, updatedAt: row!.updated ?? undefined };
  }

  async runJournals(runId: string): Promise<{ key: string; actorId: string; src: string; journal: string }[]> {
    const rows = await this.#query<{ key: string; actor_id: string; src: string; journal: string }>(`SELECT key, actor_id, src, journal FROM jobs WHERE ${jobsOfRun('$1')} AND journal <> '[]' ORDER BY created_at, key`, [runId]);
    return rows.map((r) => ({ key: r.key, actorId: r.actor_id, src: r.src, journal: r.journal }));
  }

  // ---- run control ------------------------------------------------------------------

  async forkRun(fork: RunFork): Promise<void> {
    await this.#tx(async (q) => {
      const now = fork.at;
      for (const a of fork.actors) {
        const inserted = await q(
          `INSERT INTO actors (id, run_id, parent_id, child_key, machine, version, seq, status, snapshot, state_value, output, error, owner, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $13) ON CONFLICT (id) DO NOTHING RETURNING id`,
          [a.id, a.runId, a.parentId, a.childKey, a.machine, a.version, a.seq, a.status, a.snapshot, a.stateValue, a.output, a.error, now],
        );
        if (!inserted.length) throw new SpineError('conflict', `Cannot fork run '${fork.sourceRunId}' as '${fork.runId}': an actor '${a.id}' exists already. Fork again (a new run id is chosen).`, { actorId: a.id });
      }
      // Each forked row is a delta against the actor's previous forked row, when the fork has it.
      const previous = new Map<string, HistoryRecord>();
      for (const h of fork.history) {
        const before = previous.get(h.actorId);
        await this.#insertHistory(q, h, before && before.seq === h.seq - 1 ? before.snapshot : null);
        previous.set(h.actorId, h);
      }
      for (const e of fork.events) await insertEvent(q, e, now);
      for (const j of fork.jobs) await insertJob(q, j, now);
      for (const j of fork.inheritedJobs) {
        await q(
          `INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, attempts, run_at, owner, output, error, journal, created_at, started_at, finished_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11, $12, $13, $14, $15)`,
          [j.key, j.actorId, j.runId, j.childId, j.src, j.input, j.status, j.attempts, j.runAt, j.output, j.error, j.journal, j.createdAt, j.startedAt, j.finishedAt],
        );
      }
      for (const approval of fork.approvals) await insertApproval(q, approval);
      await this.#appendAudit(q, fork.audit);
    });
  }

  async stopRun(stop: RunStop): Promise<boolean> {
    const now = stop.at;
    return this.#fenced(async (q) => {
      for (const a of stop.actors) {
        const seq = a.history ? a.history.seq : a.expectedSeq;
        const [row] = await q<{ snapshot: string | null }>(
          "UPDATE actors SET status = 'stopped', seq = $1, updated_at = $2 WHERE id = $3 AND seq = $4 AND status = 'active' RETURNING snapshot",
          [seq, now, a.actorId, a.expectedSeq],
        );
        if (!row) throw new Fenced();
        if (a.history) await this.#insertHistory(q, a.history, row.snapshot);
        await cancelAllJobs(q, now, a.actorId);
        const left = await q<{ event: string; source: string }>(
          'WITH gone AS (DELETE FROM events WHERE actor_id = $1 RETURNING id, event, source, due_at) SELECT event, source FROM gone ORDER BY due_at, id',
          [a.actorId],
        );
        for (const e of left) await this.#insertDeadLetter(q, { actorId: a.actorId, event: e.event, reason: stop.deadLetterReason, issues: null, source: e.source }, now);
      }
      for (const id of stop.approvals) if (!(await cancelApproval(q, now, id))) throw new Fenced();
      if (stop.audit.length) await this.#appendAudit(q, stop.audit);
    });
  }

  /** Runs `write` in one transaction; false (everything rolled back) when it throws `Fenced`. */
  async #fenced(write: (q: Query) => Promise<void>): Promise<boolean> {
    try {
      await this.#tx(write);
      return true;
    } catch (error) {
      if (error instanceof Fenced) return false;
      throw error;
    }
  }

  async rescheduleJob(key: string, runAt: number): Promise<boolean> {
    return (await this.#query("UPDATE jobs SET run_at = $1 WHERE key = $2 AND status = 'pending' RETURNING key", [runAt, key])).length > 0;
  }

  async runActivity(runId: string, now: number): Promise<{ dueEvents: number; activeJobs: number; nextWakeAt: number | undefined }> {
    const [row] = await this.#query<{ due: number; jobs: number; e: number | null; j: number | null; d: number | null; halted: boolean }>(
      `SELECT
         (SELECT COUNT(*) FROM events e JOIN actors a ON a.id = e.actor_id WHERE a.run_id = $1 AND a.status = 'active' AND e.due_at <= $2) AS due,
         (SELECT COUNT(*) FROM jobs WHERE ${jobsOfRun('$1')} AND (status = 'running' OR (status = 'pending' AND run_at <= $2))) AS jobs,
         (SELECT MIN(e.due_at) FROM events e JOIN actors a ON a.id = e.actor_id WHERE a.run_id = $1 AND a.status = 'active' AND e.due_at > $2) AS e,
         (SELECT MIN(run_at) FROM jobs WHERE ${jobsOfRun('$1')} AND status = 'pending' AND run_at > $2) AS j,
         (SELECT MIN(deadline_at) FROM approvals WHERE run_id = $1 AND status = 'pending' AND escalated_at IS NULL AND deadline_at > $2) AS d,
         EXISTS (${HALTED}) AS halted`,
      [runId, now],
    );
    const { due, jobs, e, j, d, halted } = row!;
    // A halted run does nothing until a person decides, whatever waits in its mailboxes.
    if (halted) return { dueEvents: 0, activeJobs: 0, nextWakeAt: d ?? undefined };
    const wakes = [e, j, d].filter((v): v is number => v !== null);
    return { dueEvents: due, activeJobs: jobs, nextWakeAt: wakes.length ? Math.min(...wakes) : undefined };
  }

  // ---- approvals and decisions ------------------------------------------------------

  async listApprovals(query: ApprovalQuery = {}): Promise<ApprovalRecord[]> {
    const where = ["(p.status <> 'pending' OR a.status = 'active')"];
    const params: unknown[] = [];
    if (query.runId) where.push(`p.run_id = $${params.push(query.runId)}`);
    if (query.status?.length) where.push(`p.status = ANY($${params.push(query.status)})`);
    const sql = `SELECT p.* FROM approvals p JOIN actors a ON a.id = p.actor_id WHERE ${where.join(' AND ')} ORDER BY p.requested_at DESC, p.id LIMIT $${params.push(query.limit ?? 1000)}`;
    return (await this.#query<ApprovalRow>(sql, params)).map(toApproval);
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const [row] = await this.#query<ApprovalRow>('SELECT * FROM approvals WHERE id = $1', [id]);
    return row && toApproval(row);
  }

  async dueApprovals(now: number, limit: number): Promise<ApprovalRecord[]> {
    const rows = await this.#polled<ApprovalRow>(
      'spine_due_approvals',
      `SELECT p.* FROM approvals p JOIN actors a ON a.id = p.actor_id
       WHERE p.status = 'pending' AND p.escalated_at IS NULL AND p.deadline_at IS NOT NULL AND p.deadline_at <= $1 AND a.status = 'active'
       ORDER BY p.deadline_at LIMIT $2`,
      [now, limit],
    );
    return rows.map(toApproval);
  }

  async isRunHalted(runId: string): Promise<boolean> {
    return (await this.#query(HALTED, [runId])).length > 0;
  }

  async submitDecision(decision: NewDecision): Promise<number> {
    const [row] = await this.#query<{ id: number }>('INSERT INTO decisions (approval_id, payload, signature, created_at) VALUES ($1, $2, $3, $4) RETURNING id', [decision.approvalId, decision.payload, decision.signature, this.#now()]);
    return row!.id;
  }

  async pendingDecisions(limit: number): Promise<DecisionRecord[]> {
    const rows = await this.#polled<DecisionRow>('spine_pending_decisions', "SELECT * FROM decisions WHERE status = 'submitted' ORDER BY id LIMIT $1", [limit]);
    return rows.map(toDecision);
  }

  async resolveApproval(r: ApprovalResolution): Promise<boolean> {
    const markDecision = async (q: Query, status: 'applied' | 'refused', id: number) =>
      (await q("UPDATE decisions SET status = $1 WHERE id = $2 AND status = 'submitted' RETURNING id", [status, id])).length > 0;
    try {
      return await this.#tx(async (q): Promise<boolean> => {
        if (r.outcome === 'refused') {
          // Only the decision is refused; the approval stays as it was. Audit once, even if two hosts try.
          if (r.decisionId !== undefined && !(await markDecision(q, 'refused', r.decisionId))) return false;
          await this.#appendAudit(q, r.audit);
          return false;
        }
        const [approval] = await q<ApprovalRow>('SELECT * FROM approvals WHERE id = $1 FOR UPDATE', [r.approvalId]);
        if (!approval || approval.status !== 'pending') return false;
        if (r.decisionId !== undefined && !(await markDecision(q, 'applied', r.decisionId))) return false;
        const decide = (status: string, editedInput: string | null) =>
          q("UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, reason = $4, edited_input = $5, signature = $6 WHERE id = $7 AND status = 'pending'", [
            status,
            r.decidedBy ?? null,
            r.decidedAt ?? r.now,
            r.reason ?? null,
            editedInput,
            r.signature ?? null,
            r.approvalId,
          ]);
        switch (r.outcome) {
          case 'approved':
            await decide('approved', r.editedInput ?? null);
            if (!(await q("UPDATE jobs SET status = 'pending', input = $1, run_at = $2 WHERE key = $3 AND status = 'held' RETURNING key", [r.jobInput ?? approval.proposal, r.now, approval.job_key])).length) throw new Stale();
            break;
          case 'rejected':
          case 'expired': {
            await decide(r.outcome, null);
            const entry = JSON.stringify({ outcome: r.outcome, by: r.decidedBy ?? null, reason: r.reason ?? null, at: r.now });
            const failed = await q(
              `UPDATE jobs SET status = 'failed', error = $1, finished_at = $3,
                 journal = CASE WHEN btrim(journal) = '[]' THEN '[' || $2 || ']' ELSE left(rtrim(journal), -1) || ',' || $2 || ']' END
               WHERE key = $4 AND status = 'held' RETURNING key`,
              [r.jobError ?? null, entry, r.now, approval.job_key],
            );
            if (!failed.length) throw new Stale();
            break;
          }
          case 'escalated':
            if (approval.escalated_at !== null) return false;
            await q("UPDATE approvals SET escalated_at = $1 WHERE id = $2 AND status = 'pending' AND escalated_at IS NULL", [r.now, r.approvalId]);
            break;
        }
        if (r.event) await insertEvent(q, r.event, r.now);
        await this.#appendAudit(q, r.audit);
        return true;
      });
    } catch (error) {
      if (error instanceof Stale) return false;
      throw error;
    }
  }

  // ---- copying a database in ------------------------------------------------------

  /** Whether the store holds nothing a copy could collide with: no actor, machine version or audit row. */
  async isEmpty(): Promise<boolean> {
    const [row] = await this.#query<{ n: number }>('SELECT (SELECT COUNT(*) FROM actors) + (SELECT COUNT(*) FROM machine_versions) + (SELECT COUNT(*) FROM audit_log) AS n');
    return row!.n === 0;
  }

  /**
   * Writes a whole database read from another store (`spine copy`) in one transaction:
   * all of it or nothing. Actors and running jobs arrive unowned (a running job becomes
   * pending again, its attempts kept), so the target's hosts take them over. Audit rows are
   * copied verbatim, hashes and all, when the target's log is empty (the chain then
   * verifies as it did at the source); otherwise they are appended after the target's rows
   * and chained anew.
   */
  async importCopy(copy: StoreCopy): Promise<CopyCounts> {
    return this.#tx(async (q) => {
      // One statement per 1000 rows: jsonb_to_recordset turns a JSON array into typed rows, inserted
      // in the source's order (ids and row ids are given in that order).
      // A column is [name, type] or [name, type, the expression that makes its value from the JSON field].
      const bulk = async (table: string, columns: [string, string, string?][], rows: unknown[][]) => {
        const names = columns.map(([name]) => name).join(', ');
        const values = columns.map(([name, , expression]) => expression ?? name).join(', ');
        const typed = [...columns, ['ord', 'bigint']].map(([name, type]) => `${name} ${type}`).join(', ');
        for (let i = 0; i < rows.length; i += 1000) {
          const chunk = rows.slice(i, i + 1000).map((r, k) => Object.fromEntries([...columns.map(([name], c) => [name, r[c] ?? null]), ['ord', k]]));
          try {
            await q(`INSERT INTO ${table} (${names}) SELECT ${values} FROM jsonb_to_recordset($1::jsonb) AS x(${typed}) ORDER BY ord`, [JSON.stringify(chunk)]);
          } catch (error) {
            throw new SpineError('conflict', `Copying ${table} failed: ${(error as Error).message}. Nothing was copied.`, { cause: error });
          }
        }
      };
      const T = 'text';
      const B = 'bigint';
      const I = 'integer';
      const v = copy.machineVersions;
      await bulk('machine_versions', [['machine', T], ['version', T], ['definition', T], ['created_at', B]], v.map((m) => [m.machine, m.version, m.definition, m.createdAt]));
      await bulk(
        'actors',
        [['id', T], ['run_id', T], ['parent_id', T], ['child_key', T], ['machine', T], ['version', T], ['seq', I], ['status', T], ['snapshot', T], ['state_value', T], ['output', T], ['error', T], ['created_at', B], ['updated_at', B]],
        copy.actors.map((a) => [a.id, a.runId, a.parentId, a.childKey, a.machine, a.version, a.seq, a.status, a.snapshot, a.stateValue, a.output, a.error, a.createdAt, a.updatedAt]),
      );
      await bulk(
        'events',
        [['actor_id', T], ['type', T], ['event', T], ['due_at', B], ['send_id', T], ['source', T], ['created_at', B]],
        copy.events.map((e) => [e.actorId, e.type, e.event, e.dueAt, e.sendId, e.source, e.createdAt]),
      );
      // History arrives decoded: each row is encoded again here, a delta against the actor's previous
      // copied row (a checkpoint where there is none), so it decodes alone in this database.
      const previous = new Map<string, HistoryRecord>();
      await bulk(
        'history',
        [['actor_id', T], ['run_id', T], ['seq', I], ['event_type', T], ['state_value', T], ['status', T], ['version', T], ['emitted', T], ['started_at', B], ['duration_us', B], ['checkpoint', 'boolean'], ['body', T, "decode(body, 'base64')"]],
        copy.history.map((h) => {
          const before = previous.get(h.actorId);
          previous.set(h.actorId, h);
          const { body, checkpoint } = encodeHistoryStep(h, before && before.seq === h.seq - 1 ? before.snapshot : null);
          return [h.actorId, h.runId, h.seq, h.eventType, h.stateValue, h.status, h.version, h.emitted, h.startedAt, h.durationUs, checkpoint, Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64')];
        }),
      );
      await bulk(
        'jobs',
        [['key', T], ['actor_id', T], ['run_id', T], ['child_id', T], ['src', T], ['input', T], ['status', T], ['attempts', I], ['run_at', B], ['output', T], ['error', T], ['journal', T], ['created_at', B], ['started_at', B], ['finished_at', B]],
        // In flight at the source: pending here, unowned, with its attempts, as a clean shutdown leaves it.
        copy.jobs.map((j) => [j.key, j.actorId, j.runId, j.childId, j.src, j.input, j.status === 'running' ? 'pending' : j.status, j.attempts, j.runAt, j.output, j.error, j.journal, j.createdAt, j.startedAt, j.finishedAt]),
      );
      await bulk(
        'approvals',
        [
          ['id', T], ['run_id', T], ['actor_id', T], ['job_key', T], ['child_id', T], ['src', T], ['machine', T], ['version', T], ['seq', I], ['tier', T], ['status', T], ['proposal', T], ['rationale', T],
          ['requested_at', B], ['deadline_at', B], ['on_deadline', T], ['escalated_at', B], ['decided_by', T], ['decided_at', B], ['reason', T], ['edited_input', T], ['signature', T]
        ],
        copy.approvals.map((a) => [a.id, a.runId, a.actorId, a.jobKey, a.childId, a.src, a.machine, a.version, a.seq, a.tier, a.status, a.proposal, a.rationale, a.requestedAt, a.deadlineAt, a.onDeadline, a.escalatedAt, a.decidedBy, a.decidedAt, a.reason, a.editedInput, a.signature]),
      );
      await bulk(
        'decisions',
        [['approval_id', T], ['payload', T], ['signature', T], ['status', T], ['created_at', B]],
        copy.decisions.map((d) => [d.approvalId, d.payload, d.signature, d.status, d.createdAt]),
      );
      await bulk(
        'dead_letters',
        [['actor_id', T], ['event', T], ['reason', T], ['issues', T], ['source', T], ['created_at', B]],
        copy.deadLetters.map((d) => [d.actorId, d.event, d.reason, d.issues, d.source, d.createdAt]),
      );
      await lockAuditAnchor(q);
      const [last] = await q<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1');
      if (!last && copy.audit.length) {
        await bulk(
          'audit_log',
          [['seq', B], ['at', B], ['run_id', T], ['actor_id', T], ['kind', T], ['who', T], ['subject', T], ['detail', T], ['prev_hash', T], ['hash', T]],
          copy.audit.map((a) => [a.seq, a.at, a.runId, a.actorId, a.kind, a.who, a.subject, a.detail, a.prevHash, a.hash]),
        );
        const head = copy.audit.at(-1)!;
        await writeAuditAnchor(q, head.seq, head.hash, this.#secret);
      } else if (copy.audit.length) {
        await this.#appendAudit(q, copy.audit.map((a) => ({ at: a.at, runId: a.runId, actorId: a.actorId, kind: a.kind, who: a.who, subject: a.subject, detail: a.detail })));
      }
      return {
        machineVersions: v.length,
        actors: copy.actors.length,
        events: copy.events.length,
        history: copy.history.length,
        jobs: copy.jobs.length,
        approvals: copy.approvals.length,
        decisions: copy.decisions.length,
        audit: copy.audit.length,
        deadLetters: copy.deadLetters.length,
      };
    });
  }

  // ---- audit log --------------------------------------------------------------------

  async appendAudit(entries: NewAuditEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.#tx((q) => this.#appendAudit(q, entries));
  }

  async listAudit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const params: unknown[] = [query.afterSeq ?? 0];
    const where = ['seq > $1'];
    if (query.runId) where.push(`run_id = $${params.push(query.runId)}`);
    const sql = `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${params.push(query.limit ?? 100_000)}`;
    return (await this.#query<AuditRow>(sql, params)).map(toAudit);
  }

  async verifyAudit(): Promise<AuditVerification> {
    // One snapshot for the rows and the anchor: appends committed meanwhile are not half-seen.
    return this.#read((q) => verifyAnchoredAudit(q, toAudit as (row: never) => AuditEntry, this.#secret));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#wake.close();
    await this.#leasePool?.end();
    await this.pool.end();
  }

  // ---- helpers --------------------------------------------------------------------

  /** Stores one dead letter cut to the retention's sizes, then drops the oldest beyond the per-actor and total caps. */
  async #insertDeadLetter(q: Query, letter: NewDeadLetter, now: number): Promise<void> {
    const b = boundDeadLetter(letter, this.#retention);
    await q('INSERT INTO dead_letters (actor_id, event, reason, issues, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [b.actorId, b.event, b.reason, b.issues, b.source, now]);
    await q('DELETE FROM dead_letters WHERE actor_id = $1 AND id <= (SELECT id FROM dead_letters WHERE actor_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)', [b.actorId, this.#retention.maxPerActor]);
    await q('DELETE FROM dead_letters WHERE id <= (SELECT id FROM dead_letters ORDER BY id DESC LIMIT 1 OFFSET $1)', [this.#retention.maxTotal]);
  }

  /** Appends hash-chained audit rows under the anchor's row lock, so the chain has one writer. */
  async #appendAudit(q: Query, entries: NewAuditEntry[]): Promise<void> {
    if (!entries.length) return;
    await lockAuditAnchor(q);
    const [last] = await q<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    let seq = last?.seq ?? 0;
    let prev = last?.hash ?? GENESIS_HASH;
    for (const e of entries) {
      seq++;
      const row = { seq, at: e.at, runId: e.runId, actorId: e.actorId, kind: e.kind, who: e.who, subject: e.subject, detail: e.detail };
      const hash = auditHash(prev, row);
      await q('INSERT INTO audit_log (seq, at, run_id, actor_id, kind, who, subject, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
        seq,
        e.at,
        e.runId,
        e.actorId,
        e.kind,
        e.who,
        e.subject,
        e.detail,
        prev,
        hash,
      ]);
      prev = hash;
    }
    await writeAuditAnchor(q, seq, prev, this.#secret);
  }
}

const HALTED = "SELECT 1 FROM approvals p JOIN actors a ON a.id = p.actor_id WHERE p.run_id = $1 AND p.status = 'pending' AND p.tier = 'high' AND a.status = 'active' LIMIT 1";

/** A retention with every field set: the defaults where `partial` leaves one out; each must be a positive integer. */
function deadLetterRetention(partial: Partial<DeadLetterRetention> = {}): DeadLetterRetention {
  const out = { ...DEFAULT_DEAD_LETTER_RETENTION, ...partial };
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`deadLetters.${key} must be a positive integer, got ${String(value)}`);
  }
  return out;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Splits Spine's own `schema` parameter off the URL and names the server for messages (without the password). */
function parseUrl(url: string, schemaOption: string | undefined): { connectionString: string; schema: string; where: string; server: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SpineError('store_refused', `'${url.replace(/:[^:@/]*@/, ':***@')}' is not a PostgreSQL URL (postgres://user:password@host:port/database).`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new SpineError('store_refused', `'${parsed.protocol}' is not a PostgreSQL URL scheme; use postgres://user:password@host:port/database.`);
  }
  const schema = schemaOption ?? parsed.searchParams.get('schema') ?? 'public';
  parsed.searchParams.delete('schema');
  if (!SCHEMA_NAME.test(schema)) throw new SpineError('store_refused', `Schema name '${schema}' is not allowed: use letters, digits and underscores (at most 63, not starting with a digit).`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
  const where = `postgres://${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}/${database}${schema === 'public' ? '' : ` (schema ${schema})`}`;
  return { connectionString: parsed.toString(), schema, where, server: `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}` };
}

/**
 * What a schema holds: nothing (safe to initialise) or Spine's tables at a schema
 * version this Spine knows. Anything else is refused before a single write.
 */
async function inspectSchema(q: Query, schema: string, where: string): Promise<'empty' | { version: number }> {
  const tables = (
    await q<{ name: string }>("SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname", [schema])
  ).map((t) => t.name);
  if (!tables.length) return 'empty';
  if (!tables.includes('spine_meta')) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
    throw new SpineError('store_refused', `${where} holds another application's tables (${shown}), not a Spine database; refusing to use it. Point Spine at an empty database or schema (?schema=spine).`);
  }
  const meta = Object.fromEntries((await q<{ key: string; value: string }>(`SELECT key, value FROM ${quoteIdent(schema)}.spine_meta`)).map((r) => [r.key, r.value]));
  if (meta.application !== APPLICATION) throw new SpineError('store_refused', `${where} has a spine_meta table but no Spine application id; refusing to use it.`);
  const version = Number(meta.schema_version);
  if (!Number.isInteger(version) || version < 1) throw new SpineError('store_refused', `${where} has an invalid Spine schema version '${meta.schema_version}'; refusing to use it.`);
  if (version > migrations.length) throw new SpineError('store_refused', `${where} was written by a newer Spine (schema ${version}; this one knows up to ${migrations.length}). Upgrade Spine.`);
  return { version };
}

/**
 * Actors and their first events in one statement: the actors from parallel arrays (a WITH that
 * writes always runs to completion), the events in the order given (their ids, hence mailbox
 * order, follow it).
 */
const CREATE_ACTORS = `WITH created AS (
    INSERT INTO actors (id, run_id, parent_id, child_key, machine, version, owner, created_at, updated_at)
    SELECT id, run_id, parent_id, child_key, machine, version, owner, $8, $8
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS a(id, run_id, parent_id, child_key, machine, version, owner)
  )
  INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at)
  SELECT actor_id, type, event, due_at, send_id, source, $8
  FROM unnest($9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::text[]) WITH ORDINALITY AS e(actor_id, type, event, due_at, send_id, source, n)
  ORDER BY n
  RETURNING id`;

function createActorsValues(actors: NewActor[], events: NewEvent[], now: number): unknown[] {
  const column = <T, V>(rows: T[], get: (row: T) => V) => rows.map(get);
  return [
    column(actors, (a) => a.id),
    column(actors, (a) => a.runId),
    column(actors, (a) => a.parentId),
    column(actors, (a) => a.childKey),
    column(actors, (a) => a.machine),
    column(actors, (a) => a.version),
    column(actors, (a) => a.owner),
    now,
    column(events, (e) => e.actorId),
    column(events, (e) => e.type),
    column(events, (e) => e.event),
    column(events, (e) => e.dueAt),
    column(events, (e) => e.sendId ?? null),
    column(events, (e) => e.source),
  ];
}

async function insertActor(q: Query, actor: NewActor, now: number): Promise<void> {
  await q('INSERT INTO actors (id, run_id, parent_id, child_key, machine, version, owner, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)', [
    actor.id,
    actor.runId,
    actor.parentId,
    actor.childKey,
    actor.machine,
    actor.version,
    actor.owner,
    now,
  ]);
}

const INSERT_EVENT = 'INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id';
/**
 * INSERT_EVENT while the actor is active, checked in the same statement (`enqueueIfActive`), with
 * whether it heads the mailbox: the outer query sees the statement's snapshot, without the new row.
 */
const INSERT_EVENT_IF_ACTIVE = `WITH stored AS (INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at)
  SELECT $1::text, $2::text, $3::text, $4::bigint, $5::text, $6::text, $7::bigint WHERE EXISTS (SELECT 1 FROM actors WHERE id = $1 AND status = 'active') RETURNING id)
  SELECT id, NOT EXISTS (SELECT 1 FROM events WHERE actor_id = $1 AND due_at <= $4) AS first FROM stored`;
const eventValues = (event: NewEvent, now: number) => [event.actorId, event.type, event.event, event.dueAt, event.sendId ?? null, event.source, now];

async function insertEvent(q: Query, event: NewEvent, now: number): Promise<number> {
  const [row] = await q<{ id: number }>(INSERT_EVENT, eventValues(event, now));
  return row!.id;
}

const UPDATE_ACTOR = 'UPDATE actors SET seq = $1, status = $2, snapshot = $3, state_value = $4, output = $5, error = $6, updated_at = $7 WHERE id = $8';
/** FROM the feed fence: the row's id is taken only once this transaction shows it may hold one that low (`FEED_FENCE_LOCK`, `$14` the schema's key). */
const INSERT_HISTORY = `INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM ${FEED_FENCE_LOCK}`;

/** A history row's values: its event and snapshot as the runtime's codec encodes them, a delta against `base`, referring to `job`'s output. */
function historyValues(h: HistoryRecord, base: string | null, job: { key: string; output: string } | undefined): unknown[] {
  const { body, checkpoint } = encodeHistoryStep(h, base, job ? { shared: job.output } : {});
  return [h.actorId, h.runId, h.seq, h.eventType, h.stateValue, h.status, h.version, h.emitted, h.startedAt, h.durationUs, checkpoint, Buffer.from(body.buffer, body.byteOffset, body.byteLength), job?.key ?? null];
}

/** The row a batch locks for each step: what its conditions and its history delta need. */
interface ActorLock {
  id: string;
  run_id: string;
  seq: number;
  status: string;
  snapshot: string | null;
  owner: string | null;
  owner_epoch: number;
}

type Send = (text: string, values?: unknown[], name?: string) => Promise<unknown>;

/**
 * The rows a pipelined group commit writes, gathered entry by entry and written with one
 * multi-row statement per kind, in the order `#commit` writes a step's rows: jobs finished,
 * actors, consumed events, history, spawned actors, cancelled timers, events, cancelled jobs,
 * new jobs, approvals. Entries touch different actors and jobs, and a cancel or a timer names
 * only its own actor's rows, so the order across entries cannot change what is written.
 */
class BatchRows {
  /** The schema's history feed fence key (see `FEED_FENCE_LOCK`). */
  readonly #feedKey: number;
  readonly finished: unknown[][] = [];
  readonly events: unknown[][] = [];
  readonly #actors: unknown[][] = [];
  readonly #consumed: number[] = [];
  readonly #history: unknown[][] = [];
  readonly #spawn: { actor: NewActor; now: number }[] = [];
  readonly #created: { actor: NewActor; now: number }[] = [];
  readonly #timers: [string, string][] = [];
  readonly #cancels: unknown[][] = [];
  readonly #jobs: unknown[][] = [];
  readonly #approvals: NewApproval[] = [];

  constructor(feedKey: number) {
    this.#feedKey = feedKey;
  }

  /** An actor an entry creates with its first step: inserted as createActors writes it, before the step's rows (its update among them). */
  create(actor: NewActor, now: number): void {
    this.#created.push({ actor, now });
  }

  /** The rows of a step whose conditions the batch's reads checked. */
  step(step: StepCommit, before: Pick<ActorLock, 'run_id' | 'snapshot'>, shared: { key: string; output: string } | undefined): void {
    const now = step.history.startedAt;
    const seq = step.expectedSeq + 1;
    this.#actors.push([step.actorId, seq, step.status, step.snapshot, step.stateValue, step.output, step.error, now]);
    if (step.eventId !== null) this.#consumed.push(step.eventId);
    const record = stepHistory(step, before.run_id, seq);
    this.#history.push(historyValues(record, before.snapshot, shared));
    for (const actor of step.spawn) this.#spawn.push({ actor, now });
    for (const sendId of step.cancelTimers) this.#timers.push([step.actorId, sendId]);
    for (const message of step.messages) this.events.push(eventValues(message, now));
    for (const childId of step.cancelJobs) this.#cancels.push([now, step.actorId, childId]);
    for (const job of step.jobs) {
      const claimed = Boolean(job.claimedBy && !job.held);
      this.#jobs.push([job.key, job.actorId, job.runId, job.childId, job.src, job.input, claimed ? 'running' : job.held ? 'held' : 'pending', claimed ? job.claimedBy : null, claimed ? 1 : 0, job.runAt, now, claimed ? now : null]);
    }
    this.#approvals.push(...(step.approvals ?? []));
  }

  /** The statements, each sent when called (all of them synchronously, so they are pipelined). */
  statements(send: Send): (() => Promise<unknown>)[] {
    const out: (() => Promise<unknown>)[] = [];
    const q: Query = async (sql, params) => (await send(sql, params)) as never;
    const many = (rows: unknown[][], sql: string, name: string) => {
      if (rows.length) out.push(() => send(sql, columns(rows), name));
    };
    for (const { actor, now } of this.#created) out.push(() => insertActor(q, actor, now));
    many(this.finished, BATCH_FINISH_JOBS, 'spine_batch_finish_jobs');
    many(this.#actors, BATCH_UPDATE_ACTORS, 'spine_batch_update_actors');
    if (this.#consumed.length) out.push(() => send('DELETE FROM events WHERE id = ANY($1::bigint[])', [this.#consumed], 'spine_batch_consume'));
    if (this.#history.length) out.push(() => send(BATCH_INSERT_HISTORY, [...columns(this.#history), this.#feedKey], 'spine_batch_history'));
    for (const { actor, now } of this.#spawn) out.push(() => insertActor(q, actor, now));
    many(this.#timers, 'DELETE FROM events e USING unnest($1::text[], $2::text[]) AS t(source, send_id) WHERE e.source = t.source AND e.send_id = t.send_id', 'spine_batch_timers');
    many(this.events, BATCH_INSERT_EVENTS, 'spine_batch_events_insert');
    many(this.#cancels, BATCH_CANCEL_JOBS, 'spine_batch_cancel_jobs');
    many(this.#jobs, BATCH_INSERT_JOBS, 'spine_batch_jobs_insert');
    for (const approval of this.#approvals) out.push(() => insertApproval(q, approval));
    return out;
  }
}

/** Rows to the column arrays `unnest` takes. */
function columns(rows: unknown[][]): unknown[][] {
  return rows[0]!.map((_, i) => rows.map((row) => row[i]));
}

/**
 * The reads of a pipelined group commit, one statement: the transaction id (what to ask about if
 * COMMIT goes unanswered, as `#transaction`), the steps' actors with their owner and epoch
 * (locked, in id order), the completions' jobs with their status, owner and attempt (locked), the
 * actors of results applied directly that have an earlier event waiting, and the consumed events
 * (locked) with the output of the finished job an activity's event names.
 */
const BATCH_READ = `WITH
  a AS (SELECT id, run_id, seq, status, snapshot, owner, owner_epoch FROM actors WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE),
  j AS (SELECT key, status, owner, attempts FROM jobs WHERE key = ANY($2::text[]) ORDER BY key FOR UPDATE),
  d AS (SELECT DISTINCT e.actor_id FROM events e JOIN unnest($3::text[], $4::bigint[]) AS w(actor_id, due_at) ON e.actor_id = w.actor_id AND e.due_at <= w.due_at),
  e AS (SELECT e.id, e.source, j.output FROM events e LEFT JOIN jobs j ON e.source LIKE '${ACTIVITY_SOURCE}%' AND j.key = substr(e.source, ${ACTIVITY_SOURCE.length + 1}) AND j.status = 'done'
        WHERE e.id = ANY($5::bigint[]) FOR UPDATE OF e)
  SELECT txid_current() AS xid, (SELECT COALESCE(json_agg(a), '[]') FROM a) AS actors, (SELECT COALESCE(json_agg(j), '[]') FROM j) AS jobs,
         (SELECT COALESCE(json_agg(d.actor_id), '[]') FROM d) AS due, (SELECT COALESCE(json_agg(e), '[]') FROM e) AS events`;

/** Fenced as FINISH_JOB (the batch's reads checked it too, under the rows' locks). */
const BATCH_FINISH_JOBS = `UPDATE jobs j SET status = c.status, output = c.output, error = c.error, journal = c.journal, finished_at = c.finished_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::int[]) AS c(status, output, error, journal, finished_at, key, owner, attempt)
  WHERE j.key = c.key AND j.status = 'running' AND j.owner = c.owner AND j.attempts = COALESCE(c.attempt, j.attempts)`;
const BATCH_UPDATE_ACTORS = `UPDATE actors a SET seq = u.seq, status = u.status, snapshot = u.snapshot, state_value = u.state_value, output = u.output, error = u.error, updated_at = u.updated_at
  FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) AS u(id, seq, status, snapshot, state_value, output, error, updated_at)
  WHERE a.id = u.id`;
const BATCH_INSERT_HISTORY = `INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key)
  SELECT actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key
  FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::boolean[], $12::bytea[], $13::text[])
    WITH ORDINALITY AS h(actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key, ord)
    CROSS JOIN ${FEED_FENCE_LOCK}
  ORDER BY ord`;
const TRIP_COMMIT = tripCommitSql(feedFenceLock('$34'));
/** The open jobs, pending approvals and stored timers of actors (`openWorkOf`), in one statement: one snapshot, one round trip. */
const OPEN_WORK = `SELECT
         (SELECT COALESCE(json_agg(json_build_object('actor_id', actor_id, 'key', key, 'child_id', child_id, 'status', status) ORDER BY created_at, key), '[]')
            FROM jobs WHERE actor_id = ANY($1::text[]) AND status IN ('pending', 'held', 'running')) AS jobs,
         (SELECT COALESCE(json_agg(json_build_object('actor_id', actor_id, 'id', id, 'run_id', run_id, 'child_id', child_id, 'src', src, 'job_key', job_key) ORDER BY requested_at, id), '[]')
            FROM approvals WHERE actor_id = ANY($1::text[]) AND status = 'pending') AS approvals,
         (SELECT COALESCE(json_agg(json_build_object('source', source, 'send_id', send_id) ORDER BY source, send_id), '[]')
            FROM (SELECT DISTINCT source, send_id FROM events WHERE source = ANY($1::text[]) AND send_id IS NOT NULL) t) AS timers`;
const BATCH_INSERT_EVENTS = `INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at)
  SELECT actor_id, type, event, due_at, send_id, source, created_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS e(actor_id, type, event, due_at, send_id, source, created_at, ord)
  ORDER BY ord`;
const BATCH_CANCEL_JOBS = `UPDATE jobs j SET status = 'cancelled', finished_at = c.at FROM unnest($1::bigint[], $2::text[], $3::text[]) AS c(at, actor_id, child_id)
  WHERE j.actor_id = c.actor_id AND j.child_id = c.child_id AND j.status IN ('pending', 'held', 'running')`;
/** A run's jobs, the run id being the parameter `param`: found through its actors (jobs keep no index on run_id, migration 3). */
function jobsOfRun(param: string): string {
  return `actor_id IN (SELECT id FROM actors WHERE run_id = ${param})`;
}

const BATCH_INSERT_JOBS = `INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at)
  SELECT key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::bigint[], $11::bigint[], $12::bigint[]) WITH ORDINALITY
    AS j(key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at, ord)
  ORDER BY ord`;

/**
 * Whether an entry's conditions are all checked by the reads of a pipelined batch: a stop, an
 * approval to cancel or an audit row (which needs the chain's head) takes the general path, as do
 * dead letters (several statements each) and a result applied directly from another job's event.
 */
function isPlainEntry({ completion, step, create }: BatchEntry): boolean {
  if (completion?.audit?.length) return false;
  if (!step) return true;
  if (step.stop.length || step.cancelApprovals?.length || step.audit?.length || step.deadLetters.length) return false;
  if (create) return true; // its first step, checked in commitBatch
  if (step.eventId === null) return completion !== undefined && completion.event.source === `${ACTIVITY_SOURCE}${completion.key}`;
  return true;
}

/**
 * Waits for every promise of a pipeline (none may be left rejecting unobserved) and gives their
 * values in order, or the first error: later statements of an aborted transaction only repeat it.
 */
async function settle(promises: unknown[]): Promise<{ ok: true; values: unknown[] } | { ok: false; error: unknown }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  return failed ? { ok: false, error: failed.reason } : { ok: true, values: settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) };
}

/**
 * Runs `send` with the connection's socket corked, so the statements it queues (four protocol
 * messages each) leave in one write instead of one system call per message.
 */
function corking(client: pg.PoolClient): <T>(send: () => T) => T {
  const stream = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return (send) => send();
  return (send) => {
    stream.cork!();
    try {
      return send();
    } finally {
      stream.uncork!();
    }
  };
}

/** A serialization failure or a deadlock: the transaction may simply be tried again. */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRY_TX.has(code);
}

/**
 * The job whose result a step applies, when its event came from a finished activity and carries
 * the output the job row keeps: the history row refers to that output instead of copying it.
 */
async function outputOf(q: Query, source: string, event: string): Promise<{ key: string; output: string } | undefined> {
  if (!source.startsWith(ACTIVITY_SOURCE)) return undefined;
  const [row] = await q<{ output: string | null }>("SELECT output FROM jobs WHERE key = $1 AND status = 'done'", [source.slice(ACTIVITY_SOURCE.length)]);
  return sharedOutput(source, event, row?.output ?? null);
}

/** `outputOf` with the output of the job the source names (null unless it is done) already known. */
function sharedOutput(source: string, event: string, output: string | null): { key: string; output: string } | undefined {
  if (!source.startsWith(ACTIVITY_SOURCE)) return undefined;
  return output && output.length >= MIN_SHARED_OUTPUT && event.includes(output) ? { key: source.slice(ACTIVITY_SOURCE.length), output } : undefined;
}

async function insertJob(q: Query, job: { key: string; actorId: string; runId: string; childId: string; src: string; input: string; runAt: number; held?: boolean; claimedBy?: string }, now: number): Promise<void> {
  if (job.claimedBy && !job.held) {
    // Claimed in the commit that creates it: running, owned by that host, its first attempt.
    await q("INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, owner, attempts, run_at, created_at, started_at) VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, 1, $8, $9, $9)", [
      job.key,
      job.actorId,
      job.runId,
      job.childId,
      job.src,
      job.input,
      job.claimedBy,
      job.runAt,
      now,
    ]);
    return;
  }
  await q('INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
    job.key,
    job.actorId,
    job.runId,
    job.childId,
    job.src,
    job.input,
    job.held ? 'held' : 'pending',
    job.runAt,
    now,
  ]);
}

async function insertApproval(q: Query, a: NewApproval): Promise<void> {
  await q(
    `INSERT INTO approvals (id, run_id, actor_id, job_key, child_id, src, machine, version, seq, tier, proposal, rationale, requested_at, deadline_at, on_deadline)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [a.id, a.runId, a.actorId, a.jobKey, a.childId, a.src, a.machine, a.version, a.seq, a.tier, a.proposal, a.rationale, a.requestedAt, a.deadlineAt, a.onDeadline],
  );
}

/** Journals an attempt's outcome on its job; false when the job is no longer running for this owner. */
async function finishJob(q: Query, completion: JobCompletion, now: number): Promise<boolean> {
  return (await q(FINISH_JOB, finishJobValues(completion, now))).length > 0;
}

/** Fenced by owner and attempt (`attempts = COALESCE($8, attempts)`: by owner only without an attempt). */
const FINISH_JOB =
  "UPDATE jobs SET status = $1, output = $2, error = $3, journal = $4, finished_at = $5 WHERE key = $6 AND status = 'running' AND owner = $7 AND attempts = COALESCE($8, attempts) RETURNING key";
const finishJobValues = (c: JobCompletion, now: number) => [c.status, c.output, c.error, c.journal, c.finishedAt ?? now, c.key, c.owner, c.attempt ?? null];

/** Why an outcome was refused: the job runs for another owner or attempt now (else it was cancelled or finished). */
function takenOver(job: { status: string; owner: string | null; attempts: number } | undefined, outcome: { owner: string; attempt?: number }): boolean {
  return job !== undefined && job.status !== 'cancelled' && (job.owner !== outcome.owner || (outcome.attempt !== undefined && job.attempts !== outcome.attempt));
}

/** `refused` when another owner or attempt holds the job now, else `cancelled` (cancelled or finished meanwhile). */
async function notFinished(q: Query, completion: JobCompletion): Promise<BatchResult> {
  const [job] = await q<{ status: string; owner: string | null; attempts: number }>('SELECT status, owner, attempts FROM jobs WHERE key = $1', [completion.key]);
  return { ok: false, reason: takenOver(job, completion) ? 'refused' : 'cancelled' };
}

/** Whether PostgreSQL refused a statement for what it contains (a constraint, bad data), so only that entry of a batch fails. */
function isContentError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}


async function cancelAllJobs(q: Query, now: number, actorId: string): Promise<void> {
  await q("UPDATE jobs SET status = 'cancelled', finished_at = $1 WHERE actor_id = $2 AND status IN ('pending', 'held', 'running')", [now, actorId]);
}

const CANCEL_JOBS = "UPDATE jobs SET status = 'cancelled', finished_at = $1 WHERE actor_id = $2 AND child_id = $3 AND status IN ('pending', 'held', 'running')";

async function cancelJobsOf(q: Query, now: number, actorId: string, childId: string): Promise<void> {
  await q(CANCEL_JOBS, [now, actorId, childId]);
}

/** Cancels one pending approval; false when it is no longer pending (decided or cancelled meanwhile). */
async function cancelApproval(q: Query, now: number, id: string): Promise<boolean> {
  return (await q("UPDATE approvals SET status = 'cancelled', decided_at = $1 WHERE id = $2 AND status = 'pending' RETURNING id", [now, id])).length > 0;
}

/** The LISTEN/NOTIFY channel of a schema's hosts; a name too long for an identifier is hashed. */
function wakeChannelOf(schema: string): string {
  const name = `spine_wake_${schema}`;
  return name.length <= 63 ? name : `spine_wake_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/**
 * The dedicated connection that LISTENs for wake-ups, opened when the first listener is added and
 * closed with the last. A dropped connection (server restart, network, an administrator ending it)
 * is opened again after a short, growing pause, and the listeners are called once it is back.
 */
class WakeListener {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #listeners = new Set<() => void>();
  #client: pg.Client | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(config: pg.ClientConfig, channel: string) {
    this.#config = config;
    this.#channel = channel;
  }

  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#client && !this.#retry) void this.#connect(false);
    return () => {
      this.#listeners.delete(listener);
      if (!this.#listeners.size) void this.#disconnect();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#disconnect();
  }

  async #connect(again: boolean): Promise<void> {
    this.#retry = undefined;
    if (this.#closed || !this.#listeners.size) return;
    const client = new pg.Client(this.#config);
    this.#client = client;
    client.on('notification', (message) => {
      if (message.channel === this.#channel) this.#notify();
    });
    client.on('error', () => this.#dropped(client));
    client.on('end', () => this.#dropped(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
    } catch {
      this.#dropped(client);
      return;
    }
    if (this.#client !== client) return;
    this.#failures = 0;
    if (again) this.#notify(); // a wake may have come while the connection was down
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // a listener's failure is its own; the others are still told
      }
    }
  }

  #dropped(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    if (this.#closed || !this.#listeners.size) return;
    const delay = Math.min(100 * 2 ** this.#failures++, 5_000);
    this.#retry = setTimeout(() => void this.#connect(true), delay);
    this.#retry.unref();
  }

  async #disconnect(): Promise<void> {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}

/** A history row as PostgresStore reads it. */
interface HistorySqlRow extends HistoryRowColumns {
  /** The encoded event and snapshot; see `encodeHistoryStep`. */
  body: Buffer;
  /** The output of the job the body refers to (`job_key`), if any. */
  shared: string | null;
}

reportStorageErrors(PostgresStore);

/**
 * SQL for "this owner may be taken over": it is in the caller's list of dead owners (`$n`, a
 * text array), or it holds no live lease by the database's clock: its lease expired, or its
 * `hosts` row is gone (removed at a stop that raced a late claim, by an operator, or absent
 * from a restored backup), so no renewal could ever make it live again.
 */
function TAKEABLE(owner: string, deadParam: string): string {
  return `(${owner} = ANY(${deadParam}::text[]) OR NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = ${owner} AND h.lease_until > spine_now_ms()))`;
}

/**
 * node-postgres's client with a connect timeout of its own: the pool's `connectionTimeoutMillis`
 * would also bound the wait for a free pooled connection, which is left unbounded (see `open`).
 */
function connectingWithin(connectTimeoutMs: number): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super({ ...(typeof config === 'string' ? { connectionString: config } : config), connectionTimeoutMillis: connectTimeoutMs });
    }
  };
}
