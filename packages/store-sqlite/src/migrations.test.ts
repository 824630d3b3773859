import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('migrations', () => {
  it('re-encodes the history of a schema-3 database: every step reads back exactly, under the same row ids, and new rows continue after them', async () => {
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
