import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@spine/store-sqlite';
import { describe, expect, it } from 'vitest';
import type { NewActor, NewEvent } from '../Store.js';
import { RunStarts } from './RunStarts.js';

const actor = (id: string): NewActor => ({ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null });
const init = (id: string): NewEvent => ({ actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: 0, source: 'external' });

async function counted() {
  const store = await SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'spine-starts-')), 'starts.db'));
  const calls: number[] = [];
  const createActors = store.createActors.bind(store);
  store.createActors = async (actors, events) => {
    calls.push(actors.length);
    return createActors(actors, events);
  };
  return { store, calls };
}

describe('RunStarts', () => {
  it('writes the runs started in the same turn in one transaction, each resolved once it is stored', async () => {
    const { store, calls } = await counted();
    const starts = new RunStarts(store);
    const ids = Array.from({ length: 20 }, (_, i) => `run-${i}`);
    const created = await Promise.all(ids.map((id) => starts.create([actor(id)], [init(id)])));
    expect(calls).toEqual([20]);
    for (const [index, id] of ids.entries()) {
      expect(await store.getActor(id)).toMatchObject({ id, status: 'active' });
      // Each start learns its own actor as written and its own event's id, without reading them back.
      const mailbox = await store.nextEvents(id, 0, 10);
      expect(mailbox).toHaveLength(1);
      expect(created[index]).toEqual({ actors: [await store.getActor(id)], eventIds: [mailbox[0]!.id] });
    }
    await store.close();
  });

  it('refuses only the start that fails by itself when the shared transaction fails, and writes the others', async () => {
    const { store, calls } = await counted();
    const starts = new RunStarts(store);
    await starts.create([actor('taken')], [init('taken')]);
    const outcomes = await Promise.allSettled(['a', 'taken', 'b'].map((id) => starts.create([actor(id)], [init(id)])));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // One lone start, the shared try of three (rolled back whole), then each alone.
    expect(calls).toEqual([1, 3, 1, 1, 1]);
    expect(await store.getActor('a')).toMatchObject({ id: 'a' });
    expect(await store.getActor('b')).toMatchObject({ id: 'b' });
    expect(await store.nextEvents('taken', 0, 10)).toHaveLength(1);
    await store.close();
  });
});
