import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeHistoryStep } from '@spine/runtime/store';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';
import { SqliteStore } from './SqliteStore.js';

function v1Database(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'spine-migrate-')), 'spine.db');
  const db = new Database(path);
  db.exec(migrations[0] as string);
  db.prepare("INSERT INTO spine_meta (key, value) VALUES ('application', 'spine'), ('schema_version', '1')").run();
  db.prepare("INSERT INTO actors (id, run_id, machine, version, created_at, updated_at) VALUES ('run-1', 'run-1', 'm', 'v1', 1, 1)").run();
  db.close();
  return path;
}

interface V3Row {
  actorId: string;
  seq: number;
  eventType: string;
  event: string;
  snapshot: string;
}

/** A schema-3 database (history rows keep whole events and snapshots), written as Spine before the history diet wrote it. */
function v3Database(): { path: string; rows: (V3Row & { rowId: number })[] } {
  const path = join(mkdtempSync(join(tmpdir(), 'spine-migrate-')), 'spine.db');
  const db = new Database(path);
  for (const migration of migrations.slice(0, 3)) db.exec(migration as string);
  db.prepare("INSERT INTO spine_meta (key, value) VALUES ('application', 'spine'), ('schema_version', '3')").run();
  const insert = db.prepare(
    "INSERT INTO history (actor_id, run_id, seq, event_type, event, state_value, snapshot, status, version, emitted, started_at, duration_us) VALUES (?, 'run-1', ?, ?, ?, '\"s\"', ?, 'active', 'v1', NULL, ?, 7)",
  );
  const rows: (V3Row & { rowId: number })[] = [];
  const notes: string[] = [];
  // Two actors interleaved, the root long enough for checkpoints (75 steps), texts with unicode.
  for (let i = 1; i <= 100; i++) {
    const actorId = i % 4 === 0 ? 'run-1/writer' : 'run-1';
    const seq = rows.filter((r) => r.actorId === actorId).length + 1;
    if (i % 3 === 0) notes.push(`note ${i}: ${'durable execution — ✓ '.repeat(i % 7)}`);
    const eventType = i % 5 === 0 ? 'xstate.done.actor.model' : 'step';
    const event = JSON.stringify({ type: eventType, output: i % 5 === 0 ? notes.at(-1) : undefined });
    const snapshot = JSON.stringify({ status: 'active', value: `s${seq % 3}`, context: { notes: notes.slice(), seq }, children: {} });
    const { lastInsertRowid } = insert.run(actorId, seq, eventType, event, snapshot, i);
    rows.push({ rowId: Number(lastInsertRowid), actorId, seq, eventType, event, snapshot });
  }
  db.close();
  return { path, rows };
}

/**
 * A schema-5 database as Spine wrote it before the job and actor diet: a finished root whose last
 * step applied a model call's result (its history row refers to the job's output), a stopped child,
 * a child still active, a stopped actor whose row differs from its last history row (left as it is),
 * and jobs with long and short texts, one still pending.
 */
function v5Database(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'spine-migrate-')), 'spine.db');
  const db = new Database(path);
  for (const migration of migrations.slice(0, 5)) {
    if (typeof migration === 'string') db.exec(migration);
    else migration(db);
  }
  db.prepare("INSERT INTO spine_meta (key, value) VALUES ('application', 'spine'), ('schema_version', '5')").run();
  const notes = Array.from({ length: 6 }, (_, i) => `Note ${i} — durable execution journals every step 🚀 before moving on; naïve retries pay twice.`);
  const input = JSON.stringify({ messages: notes.map((content) => ({ role: 'user', content })), budget: { maxTokens: 800, maxUsd: 0.4 } });
  const text = `${notes.slice(0, 3).join(' ')} (sources: notes.md)`;
  const output = JSON.stringify({ text: JSON.stringify({ body: text }), toolCalls: [], usage: { inputTokens: 300, outputTokens: 90, cacheReadTokens: 0, cacheWriteTokens: 0 }, object: { body: text } });
  const attempt = (n: number) => ({ attempt: n, host: 'host-1', startedAt: n, call: 'model', agent: 'writer', idempotencyKey: 'run-1:2:0', usage: { inputTokens: 300, outputTokens: 90 }, outcome: n < 2 ? 'retry' : 'ok', durationMs: 80.5 });
  const journal = JSON.stringify([attempt(1), attempt(2)]);
  const job = db.prepare(
    'INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, attempts, run_at, output, error, journal, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?, NULL, ?, ?)',
  );
  job.run('run-1:2:0', 'run-1', 'run-1', 'model', 'draft', input, 'done', output, journal, 1);
  job.run('run-1:3:0', 'run-1', 'run-1', 'tool', 'publish', '{"title":"t"}', 'done', '{"ok":true}', '[{"attempt":1}]', 2);
  job.run('run-1/active:2:0', 'run-1/active', 'run-1', 'model', 'think', input.replace('800', '900'), 'pending', null, '[]', 3);
  const actor = db.prepare("INSERT INTO actors (id, run_id, parent_id, machine, version, seq, status, snapshot, state_value, created_at, updated_at) VALUES (?, 'run-1', ?, 'm', 'v1', ?, ?, ?, '\"s\"', 1, 1)");
  const history = db.prepare(
    "INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key) VALUES (?, 'run-1', ?, ?, '\"s\"', ?, 'v1', NULL, 1, 1, ?, ?, ?)",
  );
  const snapshotOf = (id: string, seq: number, extra: object = {}) => JSON.stringify({ status: 'active', value: `s${seq}`, context: { id, notes: notes.slice(0, seq + 1), ...extra }, children: {} });
  for (const [id, parent, status, steps] of [
    ['run-1', null, 'done', 3],
    ['run-1/writer', 'run-1', 'stopped', 3],
    ['run-1/active', 'run-1', 'active', 2],
    ['run-1/odd', 'run-1', 'stopped', 2],
  ] as const) {
    let previous: string | null = null;
    for (let seq = 1; seq <= steps; seq++) {
      const applied = id === 'run-1' && seq === 2;
      const event = applied ? JSON.stringify({ type: 'xstate.done.actor.model', output: JSON.parse(output) }) : JSON.stringify({ type: `step.${seq}` });
      const snapshot = snapshotOf(id, seq, applied || (id === 'run-1' && seq > 2) ? { draft: text } : {});
      const { body, checkpoint } = encodeHistoryStep({ seq, event, snapshot }, previous, applied ? { shared: output } : {});
      history.run(id, seq, applied ? 'xstate.done.actor.model' : `step.${seq}`, seq === steps && status !== 'active' ? status : 'active', checkpoint ? 1 : 0, body, applied ? 'run-1:2:0' : null);
      previous = snapshot;
    }
    // The odd one's row was changed after its last step (as a run stop without a history row leaves it).
    actor.run(id, parent, steps, status, id === 'run-1/odd' ? snapshotOf(id, 99) : previous);
  }
  db.close();
  return path;
}

/** Everything a store reads back of a run: actors, jobs, journals and every step of history. */
async function readAll(store: SqliteStore) {
  return {
    actors: await store.listActors({ runId: 'run-1' }),
    root: await store.getActor('run-1'),
    jobs: await store.listJobs({ runId: 'run-1' }),
    job: await store.getJob('run-1:2:0'),
    journals: await store.runJournals('run-1'),
    history: await store.runHistory('run-1'),
  };
}

describe('migrations', () => {
  it('re-encodes the history of a schema-3 database: every step reads back exactly, under the same row ids (kept by the rebuild of schema 7), and new rows continue after them', async () => {
    const { path, rows } = v3Database();
    const old = await SqliteStore.open(path, { readonly: true });
    try {
      // A read-only open does not migrate: it reads the old layout as it is.
      expect((await old.runHistory('run-1')).map(({ rowId, actorId, seq, eventType, event, snapshot }) => ({ rowId, actorId, seq, eventType, event, snapshot }))).toEqual(rows);
    } finally {
      await old.close();
    }
    const store = await SqliteStore.open(path);
    try {
      expect(store.db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").pluck().get()).toBe(String(migrations.length));
      expect(store.db.prepare('SELECT COUNT(*) FROM pragma_table_info(?) WHERE name IN (?, ?)').pluck().get('history', 'snapshot', 'event')).toBe(0);
      // Migration 7: row ids from the table's own key (no sequence row rewritten per step), no job index by run.
      expect(store.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'history'").pluck().get()).not.toMatch(/AUTOINCREMENT/);
      expect(store.db.prepare("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'history'").pluck().get()).toBe(0);
      expect(store.db.prepare("SELECT name FROM sqlite_master WHERE tbl_name IN ('history', 'jobs') AND type = 'index' ORDER BY name").pluck().all()).toEqual([
        'history_run',
        'jobs_actor',
        'jobs_open',
        'sqlite_autoindex_history_1',
        'sqlite_autoindex_jobs_1',
      ]);
      const read = (await store.runHistory('run-1')).map(({ rowId, actorId, seq, eventType, event, snapshot }) => ({ rowId, actorId, seq, eventType, event, snapshot }));
      expect(read).toEqual(rows);
      expect((await store.historyRow('run-1', 70))?.snapshot).toBe(rows.find((r) => r.actorId === 'run-1' && r.seq === 70)!.snapshot);
      expect(store.db.prepare('SELECT SUM(checkpoint) FROM history').pluck().get()).toBe(4); // root steps 1, 33, 65 and the writer's step 1
      const bytes = store.db.prepare('SELECT SUM(LENGTH(body)) FROM history').pluck().get() as number;
      expect(bytes).toBeLessThan(rows.reduce((n, r) => n + r.event.length + r.snapshot.length, 0) / 10);
    } finally {
      await store.close();
    }
    const again = await SqliteStore.open(path);
    try {
      await again.createActors([{ id: 'run-2', runId: 'run-2', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [{ actorId: 'run-2', type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'run-2' }]);
      const [event] = await again.nextEvents('run-2', 1, 1);
      const snapshot = JSON.stringify({ status: 'active', value: 'a', context: {}, children: {} });
      const commit = { actorId: 'run-2', expectedSeq: 0, eventId: event!.id, snapshot, stateValue: '"a"', status: 'active' as const, output: null, error: null, messages: [], cancelTimers: [], jobs: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [] };
      expect(await again.commitStep({ ...commit, history: { eventType: 'xstate.init', event: '{"type":"xstate.init"}', version: 'v1', emitted: null, startedAt: 1, durationUs: 1 } })).toEqual({ ok: true });
      expect((await again.runHistory('run-2'))[0]).toMatchObject({ rowId: rows.at(-1)!.rowId + 1, snapshot });
    } finally {
      await again.close();
    }
  });

  it('packs the jobs and finished actors of a schema-5 database: every actor, job, journal and step reads back exactly, in less space', async () => {
    const path = v5Database();
    const old = await SqliteStore.open(path, { readonly: true });
    const before = await readAll(old).finally(() => old.close());
    expect(before.actors).toHaveLength(4);
    expect(before.jobs.map((j) => j.key)).toEqual(['run-1:2:0', 'run-1:3:0', 'run-1/active:2:0']);
    expect(before.history).toHaveLength(10);
    const bytes = (store: SqliteStore) => store.db.prepare("SELECT SUM(LENGTH(CAST(input AS BLOB)) + COALESCE(LENGTH(CAST(output AS BLOB)), 0) + LENGTH(CAST(journal AS BLOB))) FROM jobs").pluck().get() as number;
    const plain = new Database(path, { readonly: true });
    const oldBytes = (plain.prepare("SELECT SUM(LENGTH(CAST(input AS BLOB)) + COALESCE(LENGTH(CAST(output AS BLOB)), 0) + LENGTH(CAST(journal AS BLOB))) FROM jobs").pluck().get() as number);
    plain.close();

    const store = await SqliteStore.open(path);
    try {
      expect(store.db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").pluck().get()).toBe(String(migrations.length));
      expect(await readAll(store)).toEqual(before);
      // Packed: the long texts of the two model jobs; short ones stay text.
      expect(store.db.prepare("SELECT key, typeof(input), typeof(output), typeof(journal) FROM jobs ORDER BY key").raw().all()).toEqual([
        ['run-1/active:2:0', 'blob', 'null', 'text'],
        ['run-1:2:0', 'blob', 'blob', 'blob'],
        ['run-1:3:0', 'text', 'text', 'text'],
      ]);
      expect(bytes(store)).toBeLessThan(oldBytes / 2);
      // The finished root and the stopped writer keep their snapshot in history only; the active
      // actor and the stopped one whose row differs from its last step keep theirs.
      expect(store.db.prepare("SELECT id, typeof(snapshot) FROM actors ORDER BY id").raw().all()).toEqual([
        ['run-1', 'blob'],
        ['run-1/active', 'text'],
        ['run-1/odd', 'text'],
        ['run-1/writer', 'blob'],
      ]);
    } finally {
      await store.close();
    }
    // A cold store (nothing remembered) reads the same.
    const cold = await SqliteStore.open(path, { readonly: true });
    try {
      expect(await readAll(cold)).toEqual(before);
      expect((await cold.getActor('run-1/writer'))?.snapshot).toBe(before.history.findLast((h) => h.actorId === 'run-1/writer')!.snapshot);
    } finally {
      await cold.close();
    }
  });

  it('brings a schema-1 database to the approvals and audit schema without touching its runs', async () => {
    const path = v1Database();
    const store = await SqliteStore.open(path);
    try {
      expect(store.db.prepare("SELECT value FROM spine_meta WHERE key = 'schema_version'").pluck().get()).toBe(String(migrations.length));
      expect((await store.getActor('run-1'))?.machine).toBe('m');
      expect(await store.listApprovals()).toEqual([]);
      expect(await store.verifyAudit()).toEqual({ ok: true, rows: 0, head: '0'.repeat(64) });
    } finally {
      await store.close();
    }
  });

  it('chains audit rows across appends and processes, and finds a removed row', async () => {
    const path = v1Database();
    const a = await SqliteStore.open(path);
    const b = await SqliteStore.open(path);
    try {
      const row = (n: number) => ({ at: n, runId: 'run-1', actorId: 'run-1', kind: 'approval.requested' as const, who: `w${n}`, subject: null, detail: '{}' });
      await a.appendAudit([row(1), row(2)]);
      await b.appendAudit([row(3)]);
      await a.appendAudit([row(4)]);
      const rows = await b.listAudit();
      expect(rows.map((r) => [r.seq, r.who])).toEqual([[1, 'w1'], [2, 'w2'], [3, 'w3'], [4, 'w4']]);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
      expect(await a.verifyAudit()).toMatchObject({ ok: true, rows: 4, head: rows[3]!.hash });
      a.db.exec('DROP TRIGGER audit_log_no_delete');
      a.db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      expect(await b.verifyAudit()).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringContaining('row 2 is missing') });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
