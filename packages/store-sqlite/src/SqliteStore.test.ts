import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '@spine/runtime/testing';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from './SqliteStore.js';

const tempDbPath = () => join(mkdtempSync(join(tmpdir(), 'spine-store-')), 'spine.db');

runStoreContract(() => SqliteStore.open(tempDbPath()));

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

