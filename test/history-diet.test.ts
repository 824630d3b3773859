import { forkRun, type BatchEntry, type HistoryRecord, type JobCompletion, type RunFork, type StepCommit } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { startPipelineHost, type PipelineHost } from './fixtures-pipeline/harness.js';

// The history diet (issue 10): a history row keeps its event and snapshot as one body encoded by
// the runtime's codec, a delta against the actor's previous step. Time travel must stay exact: every
// step read back is the very snapshot and event the host committed.

const hosts: PipelineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

const key = (actorId: string, seq: number) => `${actorId}#${seq}`;
/** Rows the store writes on its own keep the actor's snapshot as it was (a stop, a cancel, a version move). */
const UNCHANGED = new Set(['xstate.stop', 'spine.run.cancelled', 'spine.version.moved']);

/** Records what the host commits through the store: each step's event and snapshot, and each fork's copied rows. */
function recordCommits(store: SqliteStore): Map<string, { event: string; snapshot: string }> {
  const committed = new Map<string, { event: string; snapshot: string }>();
  const commitStep = store.commitStep.bind(store);
  const commitBatch = store.commitBatch.bind(store);
  const forkRun = store.forkRun.bind(store);
  // A step commits alone (commitStep) or in a group commit (commitBatch): both are recorded.
  store.commitBatch = async (entries: BatchEntry[]) => {
    const results = await commitBatch(entries);
    entries.forEach(({ step }, i) => {
      if (step && results[i]!.ok) committed.set(key(step.actorId, step.expectedSeq + 1), { event: step.history.event, snapshot: step.snapshot });
    });
    return results;
  };
  store.commitStep = async (step: StepCommit) => {
    const result = await commitStep(step);
    if (result.ok) committed.set(key(step.actorId, step.expectedSeq + 1), { event: step.history.event, snapshot: step.snapshot });
    return result;
  };
  store.forkRun = async (fork: RunFork) => {
    await forkRun(fork);
    for (const h of fork.history) committed.set(key(h.actorId, h.seq), { event: h.event, snapshot: h.snapshot });
  };
  return committed;
}

/** Checks each row against what was committed; a row the store wrote itself against the actor's previous row. */
function expectExact(rows: HistoryRecord[], committed: Map<string, { event: string; snapshot: string }>, all: Map<string, HistoryRecord>) {
  for (const row of rows) {
    const expected = UNCHANGED.has(row.eventType) ? { event: row.event, snapshot: all.get(key(row.actorId, row.seq - 1))?.snapshot } : committed.get(key(row.actorId, row.seq));
    expect(expected, `a commit for ${row.actorId} step ${row.seq} (${row.eventType})`).toBeDefined();
    expect({ event: row.event, snapshot: row.snapshot }, `${row.actorId} step ${row.seq}`).toEqual(expected);
  }
}

/** Bytes SQLite keeps for the history table and its indexes (record payloads, from the dbstat table). */
function historyBytes(store: SqliteStore): { bytes: number; rows: number } {
  const bytes = store.db
    .prepare("SELECT SUM(payload) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'history')")
    .pluck()
    .get() as number;
  const rows = store.db.prepare('SELECT COUNT(*) FROM history').pluck().get() as number;
  return { bytes, rows };
}

describe('history storage', () => {
  it('keeps the research pipeline under 1 KB of history per step and reads back every committed step exactly, in the run and in a fork of it', async () => {
    const h = await startPipelineHost();
    hosts.push(h);
    const committed = recordCommits(h.store);

    const { runId } = await h.runtime.startRun('supervisor', { input: { topic: 'durable execution' } });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });

    // A fork from the root's fourth step (the first draft is back).
    const forkId = `fork-${runId}`;
    const fork = await forkRun(runId, { store: h.store, seq: 4, newRunId: forkId, by: 'test' });
    // The fork goes on from there as far as it can (it commits steps of its own); what it reaches is not this test's concern.
    await h.runtime.waitForRun(forkId);
    expect((await h.store.runStats(forkId)).steps).toBeGreaterThan(fork.history.length);

    // Read back through a fresh store (nothing remembered), in commit order, per actor, one row at a time and paged.
    const reader = await SqliteStore.open(h.dbPath, { readonly: true });
    try {
      const all = new Map<string, HistoryRecord>();
      for (const id of [runId, forkId]) {
        const rows = await reader.runHistory(id);
        for (const row of rows) all.set(key(row.actorId, row.seq), row);
        expect(rows.length).toBeGreaterThan(10);
        expectExact(rows, committed, all);
        const actors = [...new Set(rows.map((r) => r.actorId))];
        for (const actorId of actors) {
          const cold = await SqliteStore.open(h.dbPath, { readonly: true });
          try {
            const own = rows.filter((r) => r.actorId === actorId);
            expect(await cold.historyRow(actorId, own.at(-1)!.seq)).toEqual(own.at(-1));
            expect(await cold.history(actorId, { fromSeq: 2 })).toEqual(own.filter((r) => r.seq >= 2).map(({ rowId: _, ...r }) => r));
          } finally {
            await cold.close();
          }
        }
        const middle = rows[Math.floor(rows.length / 2)]!;
        expect(await reader.runHistory(id, { upToRowId: middle.rowId, limit: 5 })).toEqual(rows.filter((r) => r.rowId <= middle.rowId).slice(-5));
      }
      expect(await reader.historySince(0, 1_000)).toEqual([...(await reader.runHistory(runId)), ...(await reader.runHistory(forkId))].sort((a, b) => a.rowId - b.rowId));

      const { bytes, rows } = historyBytes(reader);
      const perStep = bytes / rows;
      process.stdout.write(`history: ${rows} rows, ${bytes} bytes, ${perStep.toFixed(0)} bytes per step\n`);
      expect(perStep).toBeLessThanOrEqual(1024);
      // An activity's output is kept once, in its job row: the step that applies it refers to it.
      expect(reader.db.prepare("SELECT COUNT(*) FROM history WHERE event_type LIKE 'xstate.done.actor.%' AND job_key IS NULL AND run_id = ?").pluck().get(runId)).toBe(0);
    } finally {
      await reader.close();
    }
  });
  it("reads back every actor's final snapshot and every job's input, output and journal exactly as the host wrote them, keeping the long ones packed", async () => {
    const h = await startPipelineHost();
    hosts.push(h);
    const committed = recordCommits(h.store);
    // What the host wrote for jobs: inputs with the steps that made them, outputs and journals with their completions.
    const inputs = new Map<string, string>();
    const results = new Map<string, { output: string | null; journal: string }>();
    const record = (step?: StepCommit, completion?: JobCompletion) => {
      for (const job of step?.jobs ?? []) inputs.set(job.key, job.input);
      if (completion) results.set(completion.key, { output: completion.output, journal: completion.journal });
    };
    const commitBatch = h.store.commitBatch.bind(h.store);
    const commitStep = h.store.commitStep.bind(h.store);
    const completeJob = h.store.completeJob.bind(h.store);
    h.store.commitBatch = async (entries: BatchEntry[]) => {
      const done = await commitBatch(entries);
      entries.forEach(({ step, completion }, i) => done[i]!.ok && record(step, completion));
      return done;
    };
    h.store.commitStep = async (step: StepCommit) => {
      const done = await commitStep(step);
      if (done.ok) record(step);
      return done;
    };
    h.store.completeJob = async (completion: JobCompletion) => {
      const done = await completeJob(completion);
      if (done) record(undefined, completion);
      return done;
    };

    const { runId } = await h.runtime.startRun('supervisor', { input: { topic: 'durable execution' } });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });

    const reader = await SqliteStore.open(h.dbPath, { readonly: true });
    try {
      const history = await reader.runHistory(runId);
      const all = new Map(history.map((row) => [key(row.actorId, row.seq), row] as const));
      expectExact(history, committed, all);
      // Every actor's snapshot is its last step's, whether its row keeps it or refers to that step.
      const actors = await reader.listActors({ runId });
      expect(actors.length).toBeGreaterThanOrEqual(5);
      for (const actor of actors) {
        expect(actor.snapshot, actor.id).toBe(all.get(key(actor.id, actor.seq))!.snapshot);
        expect(await reader.getActor(actor.id)).toEqual(actor);
      }
      expect(actors.filter((a) => a.status !== 'active')).toHaveLength(actors.length);
      // Every job reads back as written: listed, one by one, and in the run's journals.
      const jobs = await reader.listJobs({ runId });
      expect(jobs.length).toBeGreaterThanOrEqual(8);
      for (const job of jobs) {
        expect(job.input, job.key).toBe(inputs.get(job.key));
        expect({ output: job.output, journal: job.journal }, job.key).toEqual(results.get(job.key));
        expect(await reader.getJob(job.key)).toEqual(job);
      }
      expect(await reader.runJournals(runId)).toEqual(jobs.filter((j) => j.journal !== '[]').map((j) => ({ key: j.key, actorId: j.actorId, src: j.src, journal: j.journal })));
      // Kept packed: the model calls' texts and the finished actors' snapshots.
      const packed = reader.db.prepare("SELECT COUNT(*) FROM jobs WHERE typeof(input) = 'blob' OR typeof(output) = 'blob' OR typeof(journal) = 'blob'").pluck().get() as number;
      expect(packed).toBeGreaterThanOrEqual(5);
      expect(reader.db.prepare("SELECT COUNT(*) FROM actors WHERE typeof(snapshot) = 'text'").pluck().get()).toBe(0);
    } finally {
      await reader.close();
    }
  });
});
