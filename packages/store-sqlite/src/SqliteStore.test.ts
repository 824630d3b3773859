import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '@spine/runtime/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE, SqliteStore } from './SqliteStore.js';

const tempDbPath = () => join(mkdtempSync(join(tmpdir(), 'spine-store-')), 'spine.db');

runStoreContract(() => SqliteStore.open(tempDbPath()));

describe('SqliteStore page size', () => {
  const pageSizeOf = (store: SqliteStore) => store.db.pragma('page_size', { simple: true });

  it('makes a new database with the page size asked for (2 KiB by default); an existing one keeps its own', async () => {
    const byDefault = await SqliteStore.open(tempDbPath());
    expect(pageSizeOf(byDefault)).toBe(DEFAULT_PAGE_SIZE);
    expect(DEFAULT_PAGE_SIZE).toBe(2048);
    await byDefault.close();
    const path = tempDbPath();
    const large = await SqliteStore.open(path, { pageSize: 8192 });
    expect(pageSizeOf(large)).toBe(8192);
    await large.createActors([{ id: 'r', runId: 'r', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
    await large.close();
    const again = await SqliteStore.open(path, { pageSize: 1024 });
    expect(pageSizeOf(again)).toBe(8192);
    expect((await again.getActor('r'))?.runId).toBe('r');
    await again.close();
  });

  it('refuses a page size SQLite cannot use, naming it, before creating anything', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'spine-store-')), 'nested', 'spine.db');
    for (const pageSize of [3000, 256, 131072, 2048.5]) {
      expect(() => SqliteStore.openSync(path, { pageSize })).toThrow(`pageSize must be a power of two from 512 to 65536 bytes, got ${pageSize}`);
    }
    await expect(SqliteStore.open(path, { pageSize: 3000 })).rejects.toMatchObject({ code: 'store_refused' });
    expect(existsSync(join(path, '..'))).toBe(false);
  });
});

describe('SqliteStore history', () => {
  it('reads back every one of 70 growing steps exactly, from a cold store, and names the actor and step of a body damaged outside Spine', async () => {
    const path = tempDbPath();
    const store = await SqliteStore.open(path);
    const snapshots: string[] = [];
    try {
      await store.createActors([{ id: 'r', runId: 'r', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
      const notes: string[] = [];
      for (let seq = 1; seq <= 70; seq++) {
        const [eventId] = await store.enqueue([{ actorId: 'r', type: 'note', event: JSON.stringify({ type: 'note', seq }), dueAt: 0, source: 'test' }]);
        notes.push(`note ${seq}: ${'très durable '.repeat(seq % 9)}`);
        const snapshot = JSON.stringify({ status: 'active', value: `s${seq % 3}`, context: { notes }, children: {} });
        snapshots.push(snapshot);
        const step = { actorId: 'r', expectedSeq: seq - 1, eventId: eventId!, snapshot, stateValue: `"s${seq % 3}"`, status: 'active' as const, output: null, error: null };
        const history = { eventType: 'note', event: JSON.stringify({ type: 'note', seq }), version: 'v1', emitted: null, startedAt: seq, durationUs: 1 };
        expect(await store.commitStep({ ...step, history, messages: [], cancelTimers: [], jobs: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [] })).toEqual({ ok: true });
      }
    } finally {
      await store.close();
    }
    const cold = await SqliteStore.open(path);
    try {
      expect((await cold.historyRow('r', 64))?.snapshot).toBe(snapshots[63]);
      expect((await cold.history('r', { fromSeq: 40, limit: 5 })).map((h) => h.snapshot)).toEqual(snapshots.slice(39, 44));
      expect((await cold.runHistory('r')).map((h) => h.snapshot)).toEqual(snapshots);
      cold.db.prepare('UPDATE history SET body = substr(body, 1, 6) WHERE seq = 20').run();
    } finally {
      await cold.close();
    }
    const damaged = await SqliteStore.open(path);
    try {
      await expect(damaged.historyRow('r', 21)).rejects.toThrow(/history of actor 'r' at step 20 cannot be decoded: its header is cut short/); // the damaged step, met on the way to step 21
      await expect(damaged.historyRow('r', 21)).rejects.toMatchObject({ code: 'storage_corrupt' });
    } finally {
      await damaged.close();
    }
    // Corruption stops the store that met it (as a damaged page does); another one still reads past it.
    const other = await SqliteStore.open(path, { readonly: true });
    try {
      expect((await other.historyRow('r', 33))?.snapshot).toBe(snapshots[32]); // a checkpoint: the damage stays behind it
    } finally {
      await other.close();
    }
  });
});


describe('SqliteStore job and actor texts', () => {
  it("keeps a job's long texts packed through claim, retry and completion and a finished actor's snapshot in its history, reading each back exactly", async () => {
    const path = tempDbPath();
    const notes = Array.from({ length: 8 }, (_, i) => `Note ${i}: a durable step is committed before anything it causes is visible — ✓ 🚀`);
    const input = JSON.stringify({ messages: notes.map((content) => ({ role: 'user', content })) });
    const output = JSON.stringify({ text: notes.slice(0, 4).join(' '), usage: { inputTokens: 400, outputTokens: 120 }, object: { body: notes.slice(0, 4).join(' ') } });
    const entry = (attempt: number, outcome: string) => ({ attempt, host: 'h1', call: 'model', idempotencyKey: 'r:1:0', usage: { inputTokens: 400, outputTokens: 120 }, outcome, note: notes.slice(0, attempt + 2).join(' ') });
    const retried = JSON.stringify([entry(1, 'retry')]);
    const finished = JSON.stringify([entry(1, 'retry'), entry(2, 'ok')]);
    const snapshot = (seq: number) => JSON.stringify({ status: seq < 2 ? 'active' : 'done', value: `s${seq}`, context: { notes: notes.slice(0, seq * 3) }, children: {} });
    const bare = { messages: [], cancelTimers: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [] };
    const store = await SqliteStore.open(path);
    try {
      await store.createActors([{ id: 'r', runId: 'r', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
      const [init] = await store.enqueue([{ actorId: 'r', type: 'go', event: '{"type":"go"}', dueAt: 0, source: 'test' }]);
      const job = { key: 'r:1:0', actorId: 'r', runId: 'r', childId: 'model', src: 'think', input, runAt: 0 };
      const history = (seq: number, event: string) => ({ eventType: JSON.parse(event).type, event, version: 'v1', emitted: null, startedAt: seq, durationUs: 1 });
      expect(await store.commitStep({ ...bare, actorId: 'r', expectedSeq: 0, eventId: init!, snapshot: snapshot(1), stateValue: '"s1"', status: 'active', output: null, error: null, jobs: [job], history: history(1, '{"type":"go"}') })).toEqual({ ok: true });
      expect((await store.claimJob('r:1:0', 'h1', 1, []))?.input).toBe(input);
      expect(await store.retryJob({ key: 'r:1:0', owner: 'h1', attempt: 1, runAt: 0, journal: retried })).toBe(true);
      expect(store.db.prepare("SELECT typeof(input) || ' ' || typeof(output) || ' ' || typeof(journal) FROM jobs").pluck().get()).toBe('blob null blob');
      expect(await store.claimJob('r:1:0', 'h1', 2, [])).toMatchObject({ input, journal: retried, output: null, attempts: 2 });
      const done = JSON.stringify({ type: 'xstate.done.actor.model', output: JSON.parse(output) });
      expect(await store.completeJob({ key: 'r:1:0', owner: 'h1', attempt: 2, status: 'done', output, error: null, journal: finished, event: { actorId: 'r', type: 'xstate.done.actor.model', event: done, dueAt: 0, source: 'activity:r:1:0' } })).toBe(true);
      expect(await store.getJob('r:1:0')).toMatchObject({ input, output, journal: finished, status: 'done' });
      const [result] = await store.nextEvents('r', 10, 1);
      expect(await store.commitStep({ ...bare, actorId: 'r', expectedSeq: 1, eventId: result!.id, snapshot: snapshot(2), stateValue: '"s2"', status: 'done', output: '{}', error: null, jobs: [], history: history(2, done) })).toEqual({ ok: true });
      expect(store.db.prepare("SELECT typeof(input) || ' ' || typeof(output) || ' ' || typeof(journal) FROM jobs").pluck().get()).toBe('blob blob blob');
      expect(store.db.prepare('SELECT typeof(snapshot) FROM actors').pluck().get()).toBe('blob');
    } finally {
      await store.close();
    }
    const cold = await SqliteStore.open(path);
    try {
      expect(await cold.getActor('r')).toMatchObject({ status: 'done', seq: 2, snapshot: snapshot(2) });
      expect((await cold.runHistory('r')).map((h) => h.snapshot)).toEqual([snapshot(1), snapshot(2)]);
      expect(await cold.listJobs({ runId: 'r' })).toEqual([await cold.getJob('r:1:0')]);
      expect(await cold.runJournals('r')).toEqual([{ key: 'r:1:0', actorId: 'r', src: 'think', journal: finished }]);
      // A packed value changed outside Spine is refused, naming the job and column.
      cold.db.prepare("UPDATE jobs SET journal = CAST(X'01000000007300' AS BLOB)").run();
      await expect(cold.getJob('r:1:0')).rejects.toThrow(/job 'r:1:0''s journal cannot be decoded/);
    } finally {
      await cold.close();
    }
  });
});
