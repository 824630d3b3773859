import pg from 'pg';
import {
  auditHash,
  boundDeadLetter,
  DEFAULT_DEAD_LETTER_RETENTION,
  GENESIS_HASH,
  SpineError,
  type ActorQuery,
  type ActorRecord,
  type ApprovalQuery,
  type ApprovalRecord,
  type ApprovalResolution,
  type AuditEntry,
  type AuditQuery,
  type AuditVerification,
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
  type RunFork,
  type RunStats,
  type StepCommit,
  type StopRunOptions,
  type Store,
  type VersionMove,
} from '@spine/runtime';
import { lockAuditAnchor, settlePendingAnchor, verifyAnchoredAudit, writeAuditAnchor } from './auditAnchor.js';
import { APPLICATION, migrations } from './migrations.js';
import type { CopyCounts, StoreCopy } from './storeCopy.js';
import { reportStorageErrors, toStorageError } from './storageErrors.js';

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
}

/** Runs one statement on the connection of the current transaction (or the pool). */
export type Query = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** SQLSTATEs after which a transaction is simply tried again: serialization failure and deadlock. */
const RETRY_TX = new Set(['40001', '40P01']);
const INT8 = 20;

class Rollback extends Error {
  constructor(readonly reason: 'conflict' | 'consumed') {
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
  /** The schema holding Spine's tables. */
  readonly schema: string;
  /** Where the store is, for messages: host, port, database and schema (never the password). */
  readonly where: string;
  readonly #now: () => number;
  readonly #retention: DeadLetterRetention;
  readonly #secret: string | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, schema: string, where: string, options: PostgresStoreOptions) {
    this.pool = pool;
    this.schema = schema;
    this.where = where;
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
    const { connectionString, schema, where } = parseUrl(url, options.schema);
    const startup = [`-c search_path=${schema}`];
    if (options.readonly) startup.push('-c default_transaction_read_only=on');
    const pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      options: startup.join(' '),
      types,
    });
    // An idle connection the server dropped (a restart) must not crash the process: the next query reconnects.
    pool.on('error', () => {});
    const store = new PostgresStore(pool, schema, where, options);
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

  readonly #query: Query = async <R,>(sql: string, params?: unknown[]) => (await this.pool.query(sql, params)).rows as R[];

  /** Runs `fn` in one transaction on one connection; tried again on a serialization failure or a deadlock. */
  async #tx<T>(fn: (q: Query) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const q: Query = async <R,>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[];
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(q);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        const code = (error as { code?: string }).code;
        if (code && RETRY_TX.has(code) && attempt < 5) continue;
        throw error;
      } finally {
        client.release(broken);
      }
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
    return this.#tx(async (q) => {
      const [row] = await q<ActorRow>('SELECT * FROM actors WHERE id = $1 FOR UPDATE', [move.actorId]);
      if (!row || row.status !== 'active' || row.seq !== move.expectedSeq || row.version !== move.from) return false;
      if (row.seq === 0) {
        // Not started yet: no state to carry over, no step to show.
        await q('UPDATE actors SET version = $1, updated_at = $2 WHERE id = $3 AND seq = 0', [move.to, move.at, move.actorId]);
      } else {
        const seq = row.seq + 1;
        await q("UPDATE actors SET version = $1, seq = $2, updated_at = $3 WHERE id = $4 AND seq = $5 AND status = 'active'", [move.to, seq, move.at, move.actorId, row.seq]);
        const event = JSON.stringify({ type: 'spine.version.moved', from: move.from, to: move.to });
        await insertHistory(q, [move.actorId, row.run_id, seq, 'spine.version.moved', event, row.state_value ?? 'null', row.snapshot ?? 'null', 'active', move.to, null, move.at, 0]);
      }
      if (move.audit?.length) await this.#appendAudit(q, move.audit);
      return true;
    });
  }

  // ---- actors -------------------------------------------------------------------

  async createActors(actors: NewActor[], events: NewEvent[]): Promise<void> {
    await this.#tx(async (q) => {
      const now = this.#now();
      for (const actor of actors) await insertActor(q, actor, now);
      for (const event of events) await insertEvent(q, event, now);
    });
  }

  async getActor(id: string): Promise<ActorRecord | undefined> {
    const [row] = await this.#query<ActorRow>('SELECT * FROM actors WHERE id = $1', [id]);
    return row && toActor(row);
  }

  async listActors(query: ActorQuery = {}): Promise<ActorRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.rootsOnly) where.push('parent_id IS NULL');
    if (query.runId) where.push(`run_id = $${params.push(query.runId)}`);
    if (query.status?.length) where.push(`status = ANY($${params.push(query.status)})`);
    const sql = `SELECT * FROM actors ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT $${params.push(query.limit ?? 1000)}`;
    return (await this.#query<ActorRow>(sql, params)).map(toActor);
  }

  async childrenOf(parentId: string): Promise<{ id: string; childKey: string; machine: string }[]> {
    const rows = await this.#query<{ id: string; child_key: string; machine: string }>("SELECT id, child_key, machine FROM actors WHERE parent_id = $1 AND status = 'active' ORDER BY created_at, id", [parentId]);
    return rows.map((r) => ({ id: r.id, childKey: r.child_key, machine: r.machine }));
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

  async nextEvents(actorId: string, now: number, limit: number): Promise<MailboxEvent[]> {
    return (await this.#query<EventRow>('SELECT * FROM events WHERE actor_id = $1 AND due_at <= $2 ORDER BY due_at, id LIMIT $3', [actorId, now, limit])).map(toEvent);
  }

  async discardEvent(eventId: number, deadLetter: NewDeadLetter): Promise<void> {
    await this.#tx(async (q) => {
      if ((await q('DELETE FROM events WHERE id = $1 RETURNING id', [eventId])).length) await this.#insertDeadLetter(q, deadLetter, this.#now());
    });
  }

  async commitStep(step: StepCommit): Promise<CommitResult> {
    try {
      return await this.#tx((q) => this.#commit(q, step));
    } catch (error) {
      if (error instanceof Rollback) return { ok: false, reason: error.reason };
      throw error;
    }
  }

  async #commit(q: Query, step: StepCommit): Promise<CommitResult> {
    const now = step.history.startedAt;
    const seq = step.expectedSeq + 1;
    // The row lock this takes makes a concurrent commit of the same actor wait, then find the seq moved.
    const [updated] = await q<{ run_id: string }>(
      "UPDATE actors SET seq = $1, status = $2, snapshot = $3, state_value = $4, output = $5, error = $6, updated_at = $7 WHERE id = $8 AND seq = $9 AND status = 'active' RETURNING run_id",
      [seq, step.status, step.snapshot, step.stateValue, step.output, step.error, now, step.actorId, step.expectedSeq],
    );
    if (!updated) throw new Rollback('conflict');
    if (!(await q('DELETE FROM events WHERE id = $1 RETURNING id', [step.eventId])).length) throw new Rollback('consumed');
    const h = step.history;
    await insertHistory(q, [step.actorId, updated.run_id, seq, h.eventType, h.event, step.stateValue, step.snapshot, step.status, h.version, h.emitted, h.startedAt, h.durationUs]);
    for (const actor of step.spawn) await insertActor(q, actor, now);
    // Cancels first: they name timers stored before this step; a timer this step re-arms with the same id stays.
    for (const sendId of step.cancelTimers) {
      if (sendId === '*') await q('DELETE FROM events WHERE source = $1 AND send_id IS NOT NULL', [step.actorId]);
      else await q('DELETE FROM events WHERE source = $1 AND send_id = $2', [step.actorId, sendId]);
    }
    for (const message of step.messages) await insertEvent(q, message, now);
    for (const childId of step.cancelJobs) {
      if (childId === '*') {
        await cancelAllJobs(q, now, step.actorId);
        await this.#cancelApprovals(q, await cancelAllApprovals(q, now, step.actorId), now);
      } else {
        await q("UPDATE jobs SET status = 'cancelled', finished_at = $1 WHERE actor_id = $2 AND child_id = $3 AND status IN ('pending', 'held', 'running')", [now, step.actorId, childId]);
        const rows = await q<CancelledApproval>(
          "UPDATE approvals SET status = 'cancelled', decided_at = $1 WHERE actor_id = $2 AND child_id = $3 AND status = 'pending' RETURNING id, run_id, actor_id, src, job_key",
          [now, step.actorId, childId],
        );
        await this.#cancelApprovals(q, rows, now);
      }
    }
    for (const job of step.jobs) await insertJob(q, job, now);
    for (const approval of step.approvals ?? []) await insertApproval(q, approval);
    for (const id of step.stop) await this.#stopTree(q, id, now);
    for (const letter of step.deadLetters) await this.#insertDeadLetter(q, letter, now);
    if (step.audit?.length) await this.#appendAudit(q, step.audit);
    return { ok: true };
  }

  async #stopTree(q: Query, id: string, now: number): Promise<void> {
    // A stop is a state change like any other: seq + 1 and a history row, so timelines and
    // other processes' live views see it (and a host holding the old seq cannot commit).
    const [actor] = await q<{ run_id: string; seq: number; snapshot: string | null; state_value: string | null; version: string }>(
      "UPDATE actors SET status = 'stopped', seq = seq + 1, updated_at = $1 WHERE id = $2 AND status = 'active' RETURNING run_id, seq, snapshot, state_value, version",
      [now, id],
    );
    if (!actor) return;
    await insertHistory(q, [id, actor.run_id, actor.seq, 'xstate.stop', '{"type":"xstate.stop"}', actor.state_value ?? 'null', actor.snapshot ?? 'null', 'stopped', actor.version, null, now, 0]);
    await cancelAllJobs(q, now, id);
    await this.#cancelApprovals(q, await cancelAllApprovals(q, now, id), now);
    for (const child of await q<{ id: string }>("SELECT id FROM actors WHERE parent_id = $1 AND status = 'active' ORDER BY created_at, id", [id])) await this.#stopTree(q, child.id, now);
  }

  /** Approvals whose held job was cancelled (the state was left, the actor or its run stopped) close with it. */
  async #cancelApprovals(
    q: Query,
    rows: CancelledApproval[],
    now: number,
    why: { who: string; reason: string } = { who: 'system', reason: 'the work was cancelled before anyone decided (its state was left or its actor stopped)' },
  ): Promise<void> {
    if (!rows.length) return;
    await this.#appendAudit(
      q,
      rows.map((r) => ({ at: now, runId: r.run_id, actorId: r.actor_id, kind: 'approval.cancelled' as const, who: why.who, subject: r.id, detail: JSON.stringify({ src: r.src, jobKey: r.job_key, reason: why.reason }) })),
    );
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
    return rows.map((r) => ({ id: r.id, actorId: r.actor_id, event: r.event, reason: r.reason, issues: r.issues, source: r.source, createdAt: r.created_at }));
  }

  // ---- jobs ---------------------------------------------------------------------

  async claimJob(key: string, owner: string, now: number, deadOwners: string[]): Promise<JobRecord | undefined> {
    // SKIP LOCKED: a job another host is claiming or completing right now is not ours to wait for.
    const [row] = await this.#query<JobRow>(
      `UPDATE jobs SET status = 'running', owner = $1, attempts = attempts + 1, started_at = $2
       WHERE key = (SELECT key FROM jobs WHERE key = $3 AND ((status = 'pending' AND run_at <= $2) OR (status = 'running' AND owner = ANY($4::text[]))) FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [owner, now, key, deadOwners],
    );
    return row && toJob(row);
  }

  async completeJob(completion: JobCompletion): Promise<boolean> {
    return this.#tx(async (q) => {
      const now = this.#now();
      const done = await q(
        "UPDATE jobs SET status = $1, output = $2, error = $3, journal = $4, finished_at = $5 WHERE key = $6 AND status = 'running' AND owner = $7 RETURNING key",
        [completion.status, completion.output, completion.error, completion.journal, now, completion.key, completion.owner],
      );
      if (!done.length) return false;
      await insertEvent(q, completion.event, now);
      if (completion.audit?.length) await this.#appendAudit(q, completion.audit);
      return true;
    });
  }

  async retryJob(retry: JobRetry): Promise<boolean> {
    return this.#tx(async (q) => {
      const rows = await q("UPDATE jobs SET status = 'pending', run_at = $1, journal = $2, owner = NULL WHERE key = $3 AND status = 'running' AND owner = $4 RETURNING key", [retry.runAt, retry.journal, retry.key, retry.owner]);
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
    if (query.runId) where.push(`run_id = $${params.push(query.runId)}`);
    if (query.actorId) where.push(`actor_id = $${params.push(query.actorId)}`);
    if (query.status?.length) where.push(`status = ANY($${params.push(query.status)})`);
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, key`;
    return (await this.#query<JobRow>(sql, params)).map(toJob);
  }

  // ---- scheduling -----------------------------------------------------------------

  async runnable(now: number, owner: string, deadOwners: string[], limit: number): Promise<{ actors: string[]; jobs: { key: string; actorId: string }[] }> {
    const notHalted = "NOT EXISTS (SELECT 1 FROM approvals p WHERE p.run_id = a.run_id AND p.status = 'pending' AND p.tier = 'high')";
    const ours = '(a.owner IS NULL OR a.owner = $2 OR a.owner = ANY($3::text[]))';
    const actors = await this.#query<{ actor_id: string }>(
      `SELECT DISTINCT e.actor_id FROM events e JOIN actors a ON a.id = e.actor_id WHERE e.due_at <= $1 AND a.status = 'active' AND ${ours} AND ${notHalted} LIMIT $4`,
      [now, owner, deadOwners, limit],
    );
    const jobs = await this.#query<{ key: string; actor_id: string }>(
      `SELECT j.key, j.actor_id FROM jobs j JOIN actors a ON a.id = j.actor_id
       WHERE ((j.status = 'pending' AND j.run_at <= $1) OR (j.status = 'running' AND j.owner = ANY($3::text[])))
         AND a.status = 'active' AND ${ours} AND ${notHalted} LIMIT $4`,
      [now, owner, deadOwners, limit],
    );
    return { actors: actors.map((r) => r.actor_id), jobs: jobs.map((r) => ({ key: r.key, actorId: r.actor_id })) };
  }

  async nextWakeAt(now: number): Promise<number | undefined> {
    const [row] = await this.#query<{ e: number | null; j: number | null; d: number | null }>(
      `SELECT (SELECT MIN(due_at) FROM events WHERE due_at > $1) AS e, (SELECT MIN(run_at) FROM jobs WHERE status = 'pending' AND run_at > $1) AS j,
         (SELECT MIN(deadline_at) FROM approvals WHERE status = 'pending' AND escalated_at IS NULL AND deadline_at > $1) AS d`,
      [now],
    );
    const candidates = [row!.e, row!.j, row!.d].filter((v): v is number => v !== null);
    return candidates.length ? Math.min(...candidates) : undefined;
  }

  async claimActors(ids: string[], owner: string, deadOwners: string[]): Promise<string[]> {
    if (!ids.length) return [];
    // Actors it holds already are its own without a lock (one of its commits may hold the row right now);
    // of the others, SKIP LOCKED leaves one another host is claiming or committing right now with that host.
    const rows = await this.#query<{ id: string }>(
      `WITH held AS (SELECT id FROM actors WHERE id = ANY($2::text[]) AND status = 'active' AND owner = $1),
       claimed AS (
         UPDATE actors SET owner = $1 WHERE id IN (
           SELECT id FROM actors WHERE id = ANY($2::text[]) AND status = 'active' AND (owner IS NULL OR owner = ANY($3::text[])) FOR UPDATE SKIP LOCKED
         ) RETURNING id
       )
       SELECT id FROM held UNION SELECT id FROM claimed`,
      [owner, ids, deadOwners],
    );
    return rows.map((r) => r.id);
  }

  async releaseOwner(owner: string): Promise<void> {
    await this.#tx(async (q) => {
      await q('UPDATE actors SET owner = NULL WHERE owner = $1', [owner]);
      await q("UPDATE jobs SET status = 'pending', owner = NULL WHERE owner = $1 AND status = 'running'", [owner]);
    });
  }

  async heartbeat(host: HostRecord): Promise<HostRecord[]> {
    await this.#query(
      'INSERT INTO hosts (id, hostname, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at',
      [host.id, host.hostname, host.pid, host.startedAt, host.heartbeatAt],
    );
    const rows = await this.#query<{ id: string; hostname: string; pid: number; started_at: number; heartbeat_at: number }>('SELECT * FROM hosts ORDER BY id');
    return rows.map((h) => ({ id: h.id, hostname: h.hostname, pid: h.pid, startedAt: h.started_at, heartbeatAt: h.heartbeat_at }));
  }

  async removeHost(id: string): Promise<void> {
    await this.#query('DELETE FROM hosts WHERE id = $1', [id]);
  }

  // ---- history --------------------------------------------------------------------

  async history(actorId: string, options: { fromSeq?: number; limit?: number } = {}): Promise<HistoryRecord[]> {
    const rows = await this.#query<HistorySqlRow>('SELECT * FROM history WHERE actor_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3', [actorId, options.fromSeq ?? 0, options.limit ?? 100_000]);
    return rows.map(toHistory);
  }

  async runHistory(runId: string, options: { upToRowId?: number; limit?: number } = {}): Promise<HistoryRow[]> {
    const rows =
      options.upToRowId === undefined && options.limit === undefined
        ? await this.#query<HistorySqlRow>('SELECT * FROM history WHERE run_id = $1 ORDER BY row_id', [runId])
        : await this.#query<HistorySqlRow>(
            'SELECT * FROM (SELECT * FROM history WHERE run_id = $1 AND row_id <= $2 ORDER BY row_id DESC LIMIT $3) latest ORDER BY row_id',
            [runId, options.upToRowId ?? Number.MAX_SAFE_INTEGER, options.limit ?? null],
          );
    return rows.map(toHistoryRow);
  }

  async historyRow(actorId: string, seq: number): Promise<HistoryRow | undefined> {
    const [row] = await this.#query<HistorySqlRow>('SELECT * FROM history WHERE actor_id = $1 AND seq = $2', [actorId, seq]);
    return row && toHistoryRow(row);
  }

  async historyHead(): Promise<number> {
    const [row] = await this.#query<{ head: number }>('SELECT COALESCE(MAX(row_id), 0) AS head FROM history');
    return row!.head;
  }

  async historySince(afterRowId: number, limit: number): Promise<HistoryRow[]> {
    return (await this.#query<HistorySqlRow>('SELECT * FROM history WHERE row_id > $1 ORDER BY row_id LIMIT $2', [afterRowId, limit])).map(toHistoryRow);
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
    const rows = await this.#query<{ key: string; actor_id: string; src: string; journal: string }>("SELECT key, actor_id, src, journal FROM jobs WHERE run_id = $1 AND journal <> '[]' ORDER BY created_at, key", [runId]);
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
      for (const h of fork.history) await insertHistory(q, [h.actorId, h.runId, h.seq, h.eventType, h.event, h.stateValue, h.snapshot, h.status, h.version, h.emitted, h.startedAt, h.durationUs]);
      for (const e of fork.events) await insertEvent(q, e, now);
      for (const j of fork.jobs) await insertJob(q, j, now);
      for (const approval of fork.approvals) await insertApproval(q, approval);
      await this.#appendAudit(q, fork.audit);
    });
  }

  async stopRun(runId: string, options: StopRunOptions): Promise<string[]> {
    const { reason, now } = options;
    const by = options.by ?? 'system';
    return this.#tx(async (q): Promise<string[]> => {
      const stopped: string[] = [];
      const event = JSON.stringify({ type: 'spine.run.cancelled', reason });
      for (const a of await q<ActorRow>("SELECT * FROM actors WHERE run_id = $1 AND status = 'active' ORDER BY created_at, id FOR UPDATE", [runId])) {
        // A started actor gets a step, so a host still holding its old seq is fenced off.
        const seq = a.snapshot ? a.seq + 1 : a.seq;
        if (!(await q("UPDATE actors SET status = 'stopped', seq = $1, updated_at = $2 WHERE id = $3 AND seq = $4 AND status = 'active' RETURNING id", [seq, now, a.id, a.seq])).length) continue;
        if (a.snapshot) await insertHistory(q, [a.id, runId, seq, 'spine.run.cancelled', event, a.state_value ?? 'null', a.snapshot, 'stopped', a.version, null, now, 0]);
        await cancelAllJobs(q, now, a.id);
        await this.#cancelApprovals(q, await cancelAllApprovals(q, now, a.id), now, { who: by, reason: `the run was cancelled: ${reason}` });
        for (const e of await q<{ id: number; event: string; source: string }>('DELETE FROM events WHERE actor_id = $1 RETURNING id, event, source', [a.id])) {
          await this.#insertDeadLetter(q, { actorId: a.id, event: e.event, reason: `Run '${runId}' was cancelled (${reason}) before this event was applied.`, issues: null, source: e.source }, now);
        }
        stopped.push(a.id);
      }
      if (stopped.length) {
        await this.#appendAudit(q, [{ at: now, runId, actorId: runId, kind: 'run.cancelled', who: by, subject: runId, detail: JSON.stringify({ reason, stopped }) }]);
      }
      return stopped;
    });
  }

  async rescheduleJob(key: string, runAt: number): Promise<boolean> {
    return (await this.#query("UPDATE jobs SET run_at = $1 WHERE key = $2 AND status = 'pending' RETURNING key", [runAt, key])).length > 0;
  }

  async runActivity(runId: string, now: number): Promise<{ dueEvents: number; activeJobs: number; nextWakeAt: number | undefined }> {
    const [row] = await this.#query<{ due: number; jobs: number; e: number | null; j: number | null; d: number | null; halted: boolean }>(
      `SELECT
         (SELECT COUNT(*) FROM events e JOIN actors a ON a.id = e.actor_id WHERE a.run_id = $1 AND a.status = 'active' AND e.due_at <= $2) AS due,
         (SELECT COUNT(*) FROM jobs WHERE run_id = $1 AND (status = 'running' OR (status = 'pending' AND run_at <= $2))) AS jobs,
         (SELECT MIN(e.due_at) FROM events e JOIN actors a ON a.id = e.actor_id WHERE a.run_id = $1 AND a.status = 'active' AND e.due_at > $2) AS e,
         (SELECT MIN(run_at) FROM jobs WHERE run_id = $1 AND status = 'pending' AND run_at > $2) AS j,
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
    const rows = await this.#query<ApprovalRow>(
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
    const rows = await this.#query<DecisionRow>("SELECT * FROM decisions WHERE status = 'submitted' ORDER BY id LIMIT $1", [limit]);
    return rows.map((r) => ({ id: r.id, approvalId: r.approval_id, payload: r.payload, signature: r.signature, status: r.status, createdAt: r.created_at }));
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
      const bulk = async (table: string, columns: [string, string][], rows: unknown[][]) => {
        const names = columns.map(([name]) => name).join(', ');
        const typed = [...columns, ['ord', 'bigint']].map(([name, type]) => `${name} ${type}`).join(', ');
        for (let i = 0; i < rows.length; i += 1000) {
          const chunk = rows.slice(i, i + 1000).map((r, k) => Object.fromEntries([...columns.map(([name], c) => [name, r[c] ?? null]), ['ord', k]]));
          try {
            await q(`INSERT INTO ${table} (${names}) SELECT ${names} FROM jsonb_to_recordset($1::jsonb) AS x(${typed}) ORDER BY ord`, [JSON.stringify(chunk)]);
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
      await bulk(
        'history',
        [['actor_id', T], ['run_id', T], ['seq', I], ['event_type', T], ['event', T], ['state_value', T], ['snapshot', T], ['status', T], ['version', T], ['emitted', T], ['started_at', B], ['duration_us', B]],
        copy.history.map((h) => [h.actorId, h.runId, h.seq, h.eventType, h.event, h.stateValue, h.snapshot, h.status, h.version, h.emitted, h.startedAt, h.durationUs]),
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
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const q: Query = async <R,>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[];
      const result = await verifyAnchoredAudit(q, toAudit as (row: never) => AuditEntry, this.#secret);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
function parseUrl(url: string, schemaOption: string | undefined): { connectionString: string; schema: string; where: string } {
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
  return { connectionString: parsed.toString(), schema, where };
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

async function insertEvent(q: Query, event: NewEvent, now: number): Promise<number> {
  const [row] = await q<{ id: number }>('INSERT INTO events (actor_id, type, event, due_at, send_id, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id', [
    event.actorId,
    event.type,
    event.event,
    event.dueAt,
    event.sendId ?? null,
    event.source,
    now,
  ]);
  return row!.id;
}

async function insertHistory(q: Query, values: unknown[]): Promise<void> {
  await q('INSERT INTO history (actor_id, run_id, seq, event_type, event, state_value, snapshot, status, version, emitted, started_at, duration_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)', values);
}

async function insertJob(q: Query, job: { key: string; actorId: string; runId: string; childId: string; src: string; input: string; runAt: number; held?: boolean }, now: number): Promise<void> {
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

async function cancelAllJobs(q: Query, now: number, actorId: string): Promise<void> {
  await q("UPDATE jobs SET status = 'cancelled', finished_at = $1 WHERE actor_id = $2 AND status IN ('pending', 'held', 'running')", [now, actorId]);
}

async function cancelAllApprovals(q: Query, now: number, actorId: string): Promise<CancelledApproval[]> {
  return q<CancelledApproval>("UPDATE approvals SET status = 'cancelled', decided_at = $1 WHERE actor_id = $2 AND status = 'pending' RETURNING id, run_id, actor_id, src, job_key", [now, actorId]);
}

interface ActorRow {
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
  created_at: number;
  updated_at: number;
}

function toActor(r: ActorRow): ActorRecord {
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
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

interface EventRow {
  id: number;
  actor_id: string;
  type: string;
  event: string;
  due_at: number;
  send_id: string | null;
  source: string;
  created_at: number;
}

function toEvent(r: EventRow): MailboxEvent {
  return { id: r.id, actorId: r.actor_id, type: r.type, event: r.event, dueAt: r.due_at, sendId: r.send_id, source: r.source, createdAt: r.created_at };
}

interface JobRow {
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

function toJob(r: JobRow): JobRecord {
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

interface HistorySqlRow {
  row_id: number;
  actor_id: string;
  run_id: string;
  seq: number;
  event_type: string;
  event: string;
  state_value: string;
  snapshot: string;
  status: HistoryRecord['status'];
  version: string;
  emitted: string | null;
  started_at: number;
  duration_us: number;
}

function toHistoryRow(r: HistorySqlRow): HistoryRow {
  return { ...toHistory(r), rowId: r.row_id };
}

function toHistory(r: HistorySqlRow): HistoryRecord {
  return {
    actorId: r.actor_id,
    runId: r.run_id,
    seq: r.seq,
    eventType: r.event_type,
    event: r.event,
    stateValue: r.state_value,
    snapshot: r.snapshot,
    status: r.status,
    version: r.version,
    emitted: r.emitted,
    startedAt: r.started_at,
    durationUs: r.duration_us,
  };
}

interface DeadLetterRow {
  id: number;
  actor_id: string;
  event: string;
  reason: string;
  issues: string | null;
  source: string;
  created_at: number;
}

interface CancelledApproval {
  id: string;
  run_id: string;
  actor_id: string;
  src: string;
  job_key: string;
}

interface ApprovalRow {
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

function toApproval(r: ApprovalRow): ApprovalRecord {
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

interface DecisionRow {
  id: number;
  approval_id: string;
  payload: string;
  signature: string;
  status: DecisionRecord['status'];
  created_at: number;
}

interface AuditRow {
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

function toAudit(r: AuditRow): AuditEntry {
  return { seq: r.seq, at: r.at, runId: r.run_id, actorId: r.actor_id, kind: r.kind, who: r.who, subject: r.subject, detail: r.detail, prevHash: r.prev_hash, hash: r.hash };
}

reportStorageErrors(PostgresStore);
