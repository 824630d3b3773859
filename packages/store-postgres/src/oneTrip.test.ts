import pg from 'pg';
import type { BatchEntry, JobCompletion, StepCommit } from '@spine/runtime/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshPostgresUrl } from '../../../test/support/postgres.js';
import { PostgresStore } from './PostgresStore.js';

const T = 1_700_000_000_000;

/** The SQL every pg client sends while a test runs (the store's pool included). */
const sent: string[] = [];
const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = prototype.query;
beforeEach(() => {
  sent.length = 0;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text));
    return query.apply(this, args);
  };
});
afterEach(() => {
  prototype.query = query;
});

const trips = () => sent.filter((sql) => sql.includes('stepped AS (')).length;
const batchReads = () => sent.filter((sql) => sql.includes('SELECT txid_current() AS xid, (SELECT COALESCE(json_agg(a)')).length;

const snapshotAt = (seq: number) => JSON.stringify({ status: 'active', value: `s${seq}`, context: { n: seq, note: 'x'.repeat(seq * 40) }, children: {} });

function stepOf(actorId: string, expectedSeq: number, eventId: number | null, epoch: number, jobKey?: string): StepCommit {
  const seq = expectedSeq + 1;
  return {
    actorId,
    expectedSeq,
    fence: { owner: 'h1', epoch },
    eventId,
    snapshot: snapshotAt(seq),
    stateValue: JSON.stringify(`s${seq}`),
    status: 'active',
    output: null,
    error: null,
    history: { eventType: eventId === null ? 'xstate.done.actor.w' : 'xstate.init', event: JSON.stringify({ type: 'xstate.done.actor.w', output: { n: expectedSeq } }), version: 'v1', emitted: null, startedAt: T + seq, durationUs: 5 },
    messages: [],
    cancelTimers: [],
    jobs: jobKey ? [{ key: jobKey, actorId, runId: actorId, childId: 'w', src: 'work', input: '{}', runAt: T, claimedBy: 'h1' }] : [],
    cancelJobs: eventId === null ? ['w'] : [],
    spawn: [],
    stop: [],
    deadLetters: [],
  };
}

function completionOf(actorId: string, jobKey: string, attempt: number, dueAt = T + 100): JobCompletion {
  return {
    key: jobKey,
    owner: 'h1',
    attempt,
    status: 'done',
    output: '{"n":1}',
    error: null,
    journal: '[]',
    event: { actorId, type: 'xstate.done.actor.w', event: '{"type":"xstate.done.actor.w","output":{"n":1}}', dueAt, source: `activity:${jobKey}` },
  };
}

/** An actor owned by `h1`, its init step committed with a job claimed for `h1`: the store knows its snapshot at seq 1. */
async function started(store: PostgresStore, id: string): Promise<{ epoch: number }> {
  await store.createActors([{ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [
    { actorId: id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: T, source: 'external' },
  ]);
  expect(await store.claimActors([id], 'h1', [])).toEqual([id]);
  const { ownerEpoch } = (await store.getActor(id))!;
  const [init] = await store.nextEvents(id, T, 1);
  expect(await store.commitStep(stepOf(id, 0, init!.id, ownerEpoch, `${id}:1`))).toEqual({ ok: true });
  return { epoch: ownerEpoch };
}

/** The activity step `seq` of actor `id`: the result of job `id:seq` applied directly, claiming job `id:seq+1`. */
const entryOf = (id: string, seq: number, epoch: number, attempt = 1): BatchEntry => ({
  completion: completionOf(id, `${id}:${seq}`, attempt),
  step: stepOf(id, seq, null, epoch, `${id}:${seq + 1}`),
});

describe('PostgresStore one-trip commits (an activity result and its step in one round trip)', () => {
  let store: PostgresStore;
  let url: string;
  beforeEach(async () => {
    url = freshPostgresUrl('onetrip');
    store = await PostgresStore.open(url);
  });
  afterEach(() => store.close());

  it('commits a chain of activity steps without reading first, and its history reads back whole in another process', async () => {
    const { epoch } = await started(store, 'a');
    const { epoch: epochB } = await started(store, 'b');
    sent.length = 0;
    for (let seq = 1; seq <= 4; seq++) expect(await store.commitBatch([entryOf('a', seq, epoch)])).toEqual([{ ok: true }]);
    expect(await store.commitBatch([entryOf('a', 5, epoch), entryOf('b', 1, epochB)])).toEqual([{ ok: true }, { ok: true }]);
    expect({ trips: trips(), reads: batchReads() }).toEqual({ trips: 5, reads: 0 });
    expect(await store.getActor('a')).toMatchObject({ seq: 6, snapshot: snapshotAt(6) });
    expect(await store.getJob('a:5')).toMatchObject({ status: 'done', owner: 'h1', attempts: 1 });
    expect(await store.getJob('a:6')).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
    // A store that never saw these steps decodes every delta from the rows alone.
    const other = await PostgresStore.open(url);
    try {
      expect((await other.history('a')).map((h) => [h.seq, h.snapshot])).toEqual([1, 2, 3, 4, 5, 6].map((seq) => [seq, snapshotAt(seq)]));
      expect((await other.history('b')).map((h) => h.seq)).toEqual([1, 2]);
    } finally {
      await other.close();
    }
  });

  it('gives the same refusals as the reading path: fenced, queued, conflict and refused, each writing nothing of its step', async () => {
    const fenced = await started(store, 'f');
    const queued = await started(store, 'q');
    const conflict = await started(store, 'c');
    const refused = await started(store, 'r');
    // Another host takes over f; an event waits in q's mailbox; another process steps c; r's job is claimed again by another host.
    expect(await store.claimActors(['f'], 'h2', ['h1'])).toEqual(['f']);
    await store.enqueue([{ actorId: 'q', type: 'earlier', event: '{"type":"earlier"}', dueAt: T, source: 'external' }]);
    const other = await PostgresStore.open(url);
    try {
      await other.enqueue([{ actorId: 'c', type: 'go', event: '{"type":"go"}', dueAt: T, source: 'external' }]);
      const [go] = await other.nextEvents('c', T, 1);
      expect(await other.commitStep(stepOf('c', 1, go!.id, conflict.epoch, 'c:2'))).toEqual({ ok: true });
    } finally {
      await other.close();
    }
    expect(await store.claimJob('r:1', 'h2', T, ['h1'])).toMatchObject({ attempts: 2 });
    sent.length = 0;
    expect(await store.commitBatch([entryOf('f', 1, fenced.epoch)])).toEqual([{ ok: false, reason: 'fenced' }]);
    expect(await store.commitBatch([entryOf('q', 1, queued.epoch)])).toEqual([{ ok: false, reason: 'queued' }]);
    expect(await store.commitBatch([entryOf('c', 1, conflict.epoch), entryOf('r', 1, refused.epoch)])).toEqual([
      { ok: false, reason: 'conflict' },
      { ok: false, reason: 'refused' },
    ]);
    // Each time a condition failed, nothing of the statement was written, and the reading path decided.
    expect({ trips: trips(), reads: batchReads() }).toEqual({ trips: 3, reads: 3 });
    for (const id of ['f', 'q', 'r']) expect(await store.getActor(id)).toMatchObject({ seq: 1 });
    expect(await store.getActor('c')).toMatchObject({ seq: 2 });
    expect((await store.nextEvents('f', T + 1_000, 10)).map((e) => e.type)).toEqual(['xstate.done.actor.w']);
    expect((await store.nextEvents('q', T + 1_000, 10)).map((e) => e.type)).toEqual(['earlier', 'xstate.done.actor.w']);
    expect(await store.getJob('r:1')).toMatchObject({ status: 'running', owner: 'h2', attempts: 2 });
    expect(await store.getJob('r:2')).toBeUndefined();
    expect((await store.history('c')).map((h) => [h.seq, h.snapshot])).toEqual([1, 2].map((seq) => [seq, snapshotAt(seq)]));
  });
});

describe('PostgresStore one-trip commits of steps consuming a mailbox event', () => {
  let store: PostgresStore;
  let url: string;
  beforeEach(async () => {
    url = freshPostgresUrl('onetripmail');
    store = await PostgresStore.open(url);
  });
  afterEach(() => store.close());

  const enqueued = async (s: PostgresStore, id: string, type: string) => {
    const [eventId] = await s.enqueue([{ actorId: id, type, event: JSON.stringify({ type }), dueAt: T, source: 'external' }]);
    return eventId!;
  };

  it("commits a new run's first step and the steps of events sent to it in one round trip each, its history whole in another process", async () => {
    sent.length = 0;
    const { epoch } = await started(store, 'm'); // created here: the store knows its first step's base (no snapshot yet)
    expect({ trips: trips(), reads: batchReads() }).toEqual({ trips: 1, reads: 0 });
    for (let seq = 1; seq <= 3; seq++) expect(await store.commitStep(stepOf('m', seq, await enqueued(store, 'm', `go${seq}`), epoch))).toEqual({ ok: true });
    expect({ trips: trips(), reads: batchReads() }).toEqual({ trips: 4, reads: 0 });
    expect(await store.getActor('m')).toMatchObject({ seq: 4, snapshot: snapshotAt(4) });
    expect(await store.nextEvents('m', Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    expect(await store.getJob('m:1')).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
    const other = await PostgresStore.open(url);
    try {
      expect((await other.history('m')).map((h) => [h.seq, h.snapshot])).toEqual([1, 2, 3, 4].map((seq) => [seq, snapshotAt(seq)]));
    } finally {
      await other.close();
    }
  });

  it('gives the reading path\'s refusals when the event was consumed or the actor moved elsewhere, writing nothing of the step', async () => {
    const { epoch } = await started(store, 'n');
    const other = await PostgresStore.open(url);
    try {
      // Another process dead-letters the event this host read: consumed.
      const gone = await enqueued(store, 'n', 'gone');
      await other.discardEvent(gone, { actorId: 'n', event: '{"type":"gone"}', reason: 'test', issues: null, source: 'external' });
      sent.length = 0;
      expect(await store.commitStep(stepOf('n', 1, gone, epoch))).toEqual({ ok: false, reason: 'consumed' });
      // Another process steps the actor first: conflict.
      const first = await enqueued(store, 'n', 'first');
      expect(await other.commitStep(stepOf('n', 1, first, epoch))).toEqual({ ok: true });
      const late = await enqueued(store, 'n', 'late');
      expect(await store.commitStep(stepOf('n', 1, late, epoch))).toEqual({ ok: false, reason: 'conflict' });
    } finally {
      await other.close();
    }
    // The trip tried the first; its conditions failed, so the reading path decided, and the store
    // forgot the actor's base: the next step read first too (so did the other process's step).
    expect({ trips: trips(), reads: batchReads() }).toEqual({ trips: 1, reads: 3 });
    expect(await store.getActor('n')).toMatchObject({ seq: 2 });
    expect((await store.nextEvents('n', Number.MAX_SAFE_INTEGER, 10)).map((e) => e.type)).toEqual(['late']);
    expect((await store.history('n')).map((h) => h.seq)).toEqual([1, 2]);
  });
});
