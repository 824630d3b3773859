import type { ActorRecord, ActorStatus, HistoryRow, JobRecord, Store } from '@spine/runtime';
import { parseJson, stepOfJobKey } from '@spine/runtime/store';
import type { ActorJson, CostPoint, DeadLetterJson, JobJson, RunDetail, RunSummary } from './protocol.js';
import { ServerError } from './ServerError.js';
import { addTokens, parseJournal, spendOf, sumSpend, zeroTokens } from './spend.js';

/** A history row with its global commit order (the Store's `HistoryRow`). */
export type { HistoryRow } from '@spine/runtime';

/** The studio's read model over a Store: summaries, details, history windows and costs, through Store methods only. */
export class RunReader {
  readonly store: Store;
  readonly #actors = new Map<string, Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version'>>();

  constructor(store: Store) {
    this.store = store;
  }

  /** The newest history row id: live tailing starts after it. */
  async headRowId(): Promise<number> {
    return this.store.historyHead();
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

  readonly #definitions = new Map<string, Promise<string | undefined>>();

  /** Identity of an actor with its machine version's JSON structure (for `@xstate.actor`'s `definition`). */
  async inspectInfo(id: string): Promise<(Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version'> & { definition: string | undefined }) | undefined> {
    const info = await this.actorInfo(id);
    return info && { ...info, definition: await this.definition(info.machine, info.version) };
  }

  /** A machine version's JSON structure as stored (cached: a version never changes). */
  definition(machine: string, version: string): Promise<string | undefined> {
    const key = `${machine}\u0000${version}`;
    let found = this.#definitions.get(key);
    if (!found) {
      found = this.store.getMachineVersion(machine, version).catch(() => undefined);
      if (this.#definitions.size > 10_000) this.#definitions.clear();
      this.#definitions.set(key, found);
    }
    return found;
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
    const window = { limit: options.limit ?? 100_000, ...(options.upToRowId !== undefined ? { upToRowId: options.upToRowId } : {}) };
    const [rows, stats] = await Promise.all([this.store.runHistory(runId, window), this.store.runStats(runId, options.upToRowId !== undefined ? { upToRowId: options.upToRowId } : {})]);
    return { rows, total: stats.steps };
  }

  /** One committed step of an actor. */
  async historyRow(actorId: string, seq: number): Promise<HistoryRow | undefined> {
    return this.store.historyRow(actorId, seq);
  }

  /**
   * Priced model calls, oldest first, for the cost chart. A forked run's calls inherited from
   * its source (journal entries marked `inherited`) count in that run's chart, and only once
   * across runs: the chart of every run leaves them to the run that paid.
   */
  async costs(query: { runId?: string } = {}): Promise<CostPoint[]> {
    const jobs = await this.store.listJobs(query.runId ? { runId: query.runId } : {});
    const points: CostPoint[] = [];
    for (const job of jobs) {
      if (job.journal === '[]') continue;
      const info = await this.actorInfo(job.actorId);
      for (const entry of parseJournal(job.journal)) {
        if (!query.runId && entry['inherited']) continue;
        const spend = spendOf(entry);
        if (!spend.costUsd && !spend.tokens.total) continue;
        const started = typeof entry.startedAt === 'number' ? entry.startedAt : (job.startedAt ?? job.createdAt);
        const at = started + (typeof entry.durationMs === 'number' ? entry.durationMs : 0);
        points.push({ at, runId: job.runId, actorId: job.actorId, machine: info?.machine ?? '?', model: spend.model ?? job.src, costUsd: spend.costUsd, tokens: spend.tokens, ...(spend.unpriced ? { unpriced: true } : {}) });
      }
    }
    return points.sort((a, b) => a.at - b.at);
  }

  async #summarise(root: ActorRecord): Promise<RunSummary> {
    const runId = root.id;
    const [stats, journals, pending, forkedFrom] = await Promise.all([
      this.store.runStats(runId),
      this.store.runJournals(runId),
      this.store.listApprovals({ runId, status: ['pending'] }),
      this.#forkedFrom(runId),
    ]);
    const tokens = zeroTokens();
    let costUsd = 0;
    const unpriced = new Set<string>();
    for (const { journal } of journals) {
      const spend = sumSpend(parseJournal(journal));
      addTokens(tokens, spend.tokens);
      costUsd += spend.costUsd;
      for (const model of spend.unpriced) unpriced.add(model);
    }
    return {
      runId,
      machine: root.machine,
      version: root.version,
      status: root.status,
      state: parseJson(root.stateValue) ?? null,
      error: root.error,
      createdAt: root.createdAt,
      updatedAt: Math.max(root.updatedAt, stats.updatedAt ?? 0),
      steps: stats.steps,
      actors: stats.actors,
      tokens,
      costUsd,
      ...(unpriced.size ? { unpriced: [...unpriced].sort() } : {}),
      waitingFor: pending
        .sort((a, b) => a.requestedAt - b.requestedAt)
        .map((a) => ({ approvalId: a.id, actorId: a.actorId, src: a.src, tier: a.tier, requestedAt: a.requestedAt, deadlineAt: a.deadlineAt, onDeadline: a.onDeadline, escalated: a.escalatedAt !== null })),
      forkedFrom,
    };
  }

  readonly #lineage = new Map<string, RunSummary['forkedFrom']>();

  /** Where a forked run came from (its `run.forked` audit entry; forks never change origin, so it is cached). */
  async #forkedFrom(runId: string): Promise<RunSummary['forkedFrom']> {
    if (!runId.startsWith('fork-')) return null;
    const known = this.#lineage.get(runId);
    if (known !== undefined) return known;
    const entry = (await this.store.listAudit({ runId, limit: 20 })).find((e) => e.kind === 'run.forked' && e.subject === runId);
    const detail = entry ? (parseJson(entry.detail) as { from?: { runId?: unknown; actorId?: unknown; seq?: unknown }; contextEdited?: unknown } | undefined) : undefined;
    const from = detail?.from;
    const lineage =
      from && typeof from.runId === 'string' && typeof from.actorId === 'string' && typeof from.seq === 'number'
        ? { runId: from.runId, actorId: from.actorId, seq: from.seq, contextEdited: detail?.contextEdited === true }
        : null;
    if (this.#lineage.size > 10_000) this.#lineage.clear();
    this.#lineage.set(runId, lineage);
    return lineage;
  }
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
    ...(spend.unpriced.length ? { unpriced: spend.unpriced } : {}),
  };
}

