import type { ActorRecord, ActorStatus, HistoryRecord, JobRecord, Store } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import type { ActorJson, CostPoint, DeadLetterJson, JobJson, RunDetail, RunSummary } from './protocol.js';
import { ServerError } from './ServerError.js';
import { addTokens, parseJournal, spendOf, sumSpend, zeroTokens } from './spend.js';

/** A history row with its global commit order. */
export type HistoryRow = HistoryRecord & { rowId: number };

type Db = SqliteStore['db'];

/**
 * The studio's read model over a Store. Queries the Store contract lacks
 * (counts, row ids, history up to a point) run as read-only SQL when the store
 * is a SqliteStore, and fall back to the contract's methods otherwise.
 */
export class RunReader {
  readonly store: Store;
  readonly #db: Db | undefined;
  readonly #actors = new Map<string, Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version'>>();

  constructor(store: Store) {
    this.store = store;
    this.#db = store instanceof SqliteStore ? store.db : undefined;
  }

  /** The newest history row id: live tailing starts after it. */
  async headRowId(): Promise<number> {
    if (this.#db) return (this.#db.prepare('SELECT COALESCE(MAX(row_id), 0) AS head FROM history').get() as { head: number }).head;
    let head = 0;
    for (;;) {
      const rows = await this.store.historySince(head, 10_000);
      if (!rows.length) return head;
      head = rows[rows.length - 1]!.rowId;
    }
  }

  /** Identity of an actor (cached: these fields never change). */
  async actorInfo(id: string): Promise<Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version'> | undefined> {
    const cached = this.#actors.get(id);
    if (cached) return cached;
    const record = await this.store.getActor(id);
    if (!record) return undefined;
    const info = { id: record.id, runId: record.runId, parentId: record.parentId, machine: record.machine, version: record.version };
    if (this.#actors.size > 50_000) this.#actors.clear();
    this.#actors.set(id, info);
    return info;
  }

  /** Runs, newest first. */
  async listRuns(query: { limit?: number; status?: ActorStatus[]; machine?: string } = {}): Promise<RunSummary[]> {
    const limit = query.limit ?? 200;
    let roots = await this.store.listActors({ rootsOnly: true, limit: query.machine ? Math.max(limit * 5, 1000) : limit, ...(query.status?.length ? { status: query.status } : {}) });
    if (query.machine) roots = roots.filter((r) => r.machine === query.machine).slice(0, limit);
    return Promise.all(roots.map((root) => this.#summarise(root)));
  }

  /** One run's summary, or undefined when there is no such run. */
  async runSummary(runId: string): Promise<RunSummary | undefined> {
    const root = await this.store.getActor(runId);
    if (!root || root.runId !== runId) return undefined;
    return this.#summarise(root);
  }

  /** A run's actors, activity calls and dead letters (its history streams over the WebSocket). */
  async runDetail(runId: string): Promise<RunDetail> {
    const run = await this.runSummary(runId);
    if (!run) throw new ServerError('unknown_run', `No run with id '${runId}'. List runs with GET /api/runs.`);
    const actors = await this.store.listActors({ runId, limit: 100_000 });
    const jobs = await this.store.listJobs({ runId });
    const letters = (await Promise.all(actors.map((a) => this.store.listDeadLetters(a.id)))).flat();
    return {
      run,
      actors: actors.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)).map(actorJson),
      jobs: jobs.map(jobJson),
      deadLetters: letters.sort((a, b) => a.id - b.id).map(
        (l): DeadLetterJson => ({ id: l.id, actorId: l.actorId, event: parseJson(l.event), reason: l.reason, issues: (parseJson(l.issues) as DeadLetterJson['issues']) ?? null, source: l.source, createdAt: l.createdAt }),
      ),
    };
  }

  /** The most recent `limit` history rows of a run (optionally only up to a row id), oldest first, with the total count. */
  async runHistory(runId: string, options: { limit?: number; upToRowId?: number } = {}): Promise<{ rows: HistoryRow[]; total: number }> {
    const limit = options.limit ?? 100_000;
    const upTo = options.upToRowId ?? Number.MAX_SAFE_INTEGER;
    if (this.#db) {
      const total = (this.#db.prepare('SELECT COUNT(*) AS n FROM history WHERE run_id = ? AND row_id <= ?').get(runId, upTo) as { n: number }).n;
      const rows = this.#db
        .prepare('SELECT * FROM (SELECT * FROM history WHERE run_id = ? AND row_id <= ? ORDER BY row_id DESC LIMIT ?) ORDER BY row_id')
        .all(runId, upTo, limit) as HistorySqlRow[];
      return { rows: rows.map(historyRow), total };
    }
    // Without row ids the commit order is the list order; number rows so they stay distinct.
    const all = (await this.store.runHistory(runId)).map((row, index) => ({ ...row, rowId: index + 1 }));
    const upToRows = all.filter((r) => r.rowId <= upTo);
    return { rows: upToRows.slice(Math.max(0, upToRows.length - limit)), total: upToRows.length };
  }

  /** One committed step of an actor. */
  async historyRow(actorId: string, seq: number): Promise<HistoryRow | undefined> {
    if (this.#db) {
      const row = this.#db.prepare('SELECT * FROM history WHERE actor_id = ? AND seq = ?').get(actorId, seq) as HistorySqlRow | undefined;
      return row && historyRow(row);
    }
    const info = await this.actorInfo(actorId);
    if (!info) return undefined;
    const { rows } = await this.runHistory(info.runId);
    return rows.find((r) => r.actorId === actorId && r.seq === seq);
  }

  /** Priced model calls, oldest first, for the cost chart. */
  async costs(query: { runId?: string } = {}): Promise<CostPoint[]> {
    const jobs = await this.store.listJobs(query.runId ? { runId: query.runId } : {});
    const points: CostPoint[] = [];
    for (const job of jobs) {
      if (job.journal === '[]') continue;
      const info = await this.actorInfo(job.actorId);
      for (const entry of parseJournal(job.journal)) {
        const spend = spendOf(entry);
        if (!spend.costUsd && !spend.tokens.total) continue;
        const started = typeof entry.startedAt === 'number' ? entry.startedAt : (job.startedAt ?? job.createdAt);
        const at = started + (typeof entry.durationMs === 'number' ? entry.durationMs : 0);
        points.push({ at, runId: job.runId, actorId: job.actorId, machine: info?.machine ?? '?', model: spend.model ?? job.src, costUsd: spend.costUsd, tokens: spend.tokens });
      }
    }
    return points.sort((a, b) => a.at - b.at);
  }

  async #summarise(root: ActorRecord): Promise<RunSummary> {
    const runId = root.id;
    let steps: number;
    let actors: number;
    let updatedAt = root.updatedAt;
    const tokens = zeroTokens();
    let costUsd = 0;
    if (this.#db) {
      const counts = this.#db
        .prepare('SELECT (SELECT COUNT(*) FROM history WHERE run_id = ?) AS steps, (SELECT COUNT(*) FROM actors WHERE run_id = ?) AS actors, (SELECT MAX(updated_at) FROM actors WHERE run_id = ?) AS updated')
        .get(runId, runId, runId) as { steps: number; actors: number; updated: number | null };
      steps = counts.steps;
      actors = counts.actors;
      updatedAt = Math.max(updatedAt, counts.updated ?? 0);
      const journals = this.#db.prepare("SELECT journal FROM jobs WHERE run_id = ? AND journal <> '[]'").all(runId) as { journal: string }[];
      for (const { journal } of journals) {
        const spend = sumSpend(parseJournal(journal));
        addTokens(tokens, spend.tokens);
        costUsd += spend.costUsd;
      }
    } else {
      const all = await this.store.listActors({ runId, limit: 100_000 });
      actors = all.length;
      steps = all.reduce((n, a) => n + a.seq, 0);
      updatedAt = Math.max(updatedAt, ...all.map((a) => a.updatedAt));
      for (const job of await this.store.listJobs({ runId })) {
        const spend = sumSpend(parseJournal(job.journal));
        addTokens(tokens, spend.tokens);
        costUsd += spend.costUsd;
      }
    }
    return {
      runId,
      machine: root.machine,
      version: root.version,
      status: root.status,
      state: parseJson(root.stateValue) ?? null,
      error: root.error,
      createdAt: root.createdAt,
      updatedAt,
      steps,
      actors,
      tokens,
      costUsd,
    };
  }
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
  status: ActorStatus;
  version: string;
  emitted: string | null;
  started_at: number;
  duration_us: number;
}

function historyRow(r: HistorySqlRow): HistoryRow {
  return {
    rowId: r.row_id,
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

/** An actor row as the studio reads it. */
export function actorJson(a: ActorRecord): ActorJson {
  return {
    id: a.id,
    runId: a.runId,
    parentId: a.parentId,
    childKey: a.childKey,
    machine: a.machine,
    version: a.version,
    seq: a.seq,
    status: a.status,
    state: parseJson(a.stateValue) ?? null,
    output: parseJson(a.output) ?? null,
    error: a.error,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

/** A job row as the studio reads it: parsed JSON, the requesting step, latency and spend. */
export function jobJson(job: JobRecord): JobJson {
  const journal = parseJournal(job.journal);
  const spend = sumSpend(journal);
  return {
    key: job.key,
    actorId: job.actorId,
    step: stepOfJobKey(job.key, job.actorId),
    childId: job.childId,
    src: job.src,
    status: job.status,
    attempts: job.attempts,
    input: parseJson(job.input) ?? null,
    output: parseJson(job.output) ?? null,
    error: parseJson(job.error) ?? null,
    journal,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    runAt: job.runAt,
    latencyMs: job.finishedAt !== null ? job.finishedAt - job.createdAt : null,
    tokens: spend.tokens,
    costUsd: spend.costUsd,
    models: spend.models,
  };
}

/** The seq of the step that requested a job, from its key `actorId:seq:index`. */
export function stepOfJobKey(key: string, actorId: string): number | null {
  if (!key.startsWith(`${actorId}:`)) return null;
  const seq = Number(key.slice(actorId.length + 1).split(':')[0]);
  return Number.isInteger(seq) ? seq : null;
}

/** Parses stored JSON; undefined for null or unparseable input. */
export function parseJson(json: string | null | undefined): unknown {
  if (json === null || json === undefined) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}
