import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { describe, expect, it } from 'vitest';
import { freshPostgresUrl, withPostgres } from './support/postgres.js';

const STEPS = 40; // past the checkpoint at 33, so a cold read of the last steps decodes a chain

/**
 * Drives the same steps into a store: growing notes, and at step 5 the result of an activity
 * whose long output the event carries (the history row refers to the job's output by key).
 */
async function drive(store: Store): Promise<string[]> {
  const snapshots: string[] = [];
  await store.createActors([{ id: 'r', runId: 'r', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
  const output = JSON.stringify({ report: 'a long activity output that the event carries and the job row keeps '.repeat(4) });
  const notes: string[] = [];
  for (let seq = 1; seq <= STEPS; seq++) {
    let eventId: number;
    let event: string;
    if (seq === 5) {
      expect(await store.claimJob('r:4:fetch', 'host', 10, [])).toBeDefined();
      event = JSON.stringify({ type: 'xstate.done.actor.fetch', output: JSON.parse(output) });
      const done = await store.completeJob({ key: 'r:4:fetch', owner: 'host', status: 'done', output, error: null, journal: '[]', event: { actorId: 'r', type: 'xstate.done.actor.fetch', event, dueAt: 0, source: 'activity:r:4:fetch' } });
      expect(done).toBe(true);
      eventId = (await store.nextEvents('r', Number.MAX_SAFE_INTEGER, 1))[0]!.id;
    } else {
      event = JSON.stringify({ type: 'note', seq });
      [eventId] = (await store.enqueue([{ actorId: 'r', type: 'note', event, dueAt: 0, source: 'test' }])) as [number];
    }
    notes.push(`note ${seq}: ${'très durable '.repeat(seq % 7)}`);
    const snapshot = JSON.stringify({ status: 'active', value: `s${seq % 3}`, context: { notes, report: seq >= 5 ? JSON.parse(output) : null }, children: {} });
    snapshots.push(snapshot);
    const jobs = seq === 4 ? [{ key: 'r:4:fetch', actorId: 'r', runId: 'r', childId: 'fetch', src: 'fetch', input: '{}', runAt: 0 }] : [];
    const result = await store.commitStep({
      actorId: 'r',
      expectedSeq: seq - 1,
      eventId,
      snapshot,
      stateValue: `"s${seq % 3}"`,
      status: 'active',
      output: null,
      error: null,
      history: { eventType: JSON.parse(event).type, event, version: 'v1', emitted: null, startedAt: 1_000 + seq, durationUs: 1 },
      messages: [],
      cancelTimers: [],
      jobs,
      cancelJobs: [],
      spawn: [],
      stop: [],
      deadLetters: [],
    });
    expect(result).toEqual({ ok: true });
  }
  return snapshots;
}

describe('history bodies on both stores', () => {
  it('are the same bytes per step on SQLite and PostgreSQL (deltas, checkpoints, an activity output referred to by its job key), and read back exactly from a cold store', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'spine-bytes-')), 'spine.db');
    const url = freshPostgresUrl('bytes');
    const sqlite = await SqliteStore.open(path);
    const postgres = await PostgresStore.open(url);
    let snapshots: string[];
    try {
      snapshots = await drive(sqlite);
      expect(await drive(postgres)).toEqual(snapshots);
      const fromSqlite = (sqlite.db.prepare('SELECT seq, checkpoint, body, job_key FROM history ORDER BY seq').all() as { seq: number; checkpoint: number; body: Buffer; job_key: string | null }[]).map((r) => ({
        seq: r.seq,
        checkpoint: r.checkpoint === 1,
        body: Buffer.from(r.body).toString('hex'),
        jobKey: r.job_key,
      }));
      const fromPostgres = await withPostgres(url, async (c) =>
        (await c.query<{ seq: number; checkpoint: boolean; body: Buffer; job_key: string | null }>('SELECT seq, checkpoint, body, job_key FROM history ORDER BY seq')).rows.map((r) => ({
          seq: r.seq,
          checkpoint: r.checkpoint,
          body: r.body.toString('hex'),
          jobKey: r.job_key,
        })),
      );
      expect(fromPostgres).toEqual(fromSqlite);
      expect(fromPostgres.filter((r) => r.checkpoint).map((r) => r.seq)).toEqual([1, 33]);
      expect(fromPostgres.find((r) => r.seq === 5)!.jobKey).toBe('r:4:fetch');

      // `spine copy` hands decoded rows over: the target encodes them anew and reads back the same steps.
      const copied = await PostgresStore.open(freshPostgresUrl('bytes_copy'));
      try {
        const history = (await sqlite.historySince(0, 1_000)).map(({ rowId: _rowId, ...row }) => row);
        const [actor] = await sqlite.listActors();
        await copied.importCopy({ machineVersions: [], actors: [actor!], events: [], history, jobs: await sqlite.listJobs({}), approvals: [], decisions: [], audit: [], deadLetters: [] });
        expect((await copied.runHistory('r')).map(({ rowId: _rowId, ...row }) => row)).toEqual(history);
        expect((await copied.history('r', { fromSeq: 36 })).map((h) => h.snapshot)).toEqual(snapshots.slice(35));
      } finally {
        await copied.close();
      }
    } finally {
      await Promise.all([sqlite.close(), postgres.close()]);
    }
    // A new store remembers nothing: the last steps decode from the checkpoint at 33 on.
    const cold = await PostgresStore.open(url);
    try {
      expect((await cold.history('r', { fromSeq: 38 })).map((h) => h.snapshot)).toEqual(snapshots.slice(37));
      expect((await cold.historyRow('r', 20))?.snapshot).toBe(snapshots[19]);
      expect((await cold.runHistory('r')).map((h) => h.snapshot)).toEqual(snapshots);
      expect((await cold.historyRow('r', 5))?.event).toContain('a long activity output');
    } finally {
      await cold.close();
    }
  });
});
