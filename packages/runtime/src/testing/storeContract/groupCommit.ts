import { describe, expect, it } from 'vitest';
import type { JobCompletion, Store } from '../../Store.js';
import { commitOf, job, registerHosts, startRun, step, T0 } from './build.js';
import type { WithStore } from './index.js';

/** A run's actor as a host owning it (`h1`) creates it with its first step (`BatchEntry.create`). */
const newRun = (id: string) => ({ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: 'h1' });

/** That first step: the init event applied without a mailbox row, fenced by `h1`'s epoch 0, its first job claimed. */
const firstStep = (id: string) => ({ ...commitOf(id, 0, 0, 'xstate.init'), eventId: null, fence: { owner: 'h1', epoch: 0 }, jobs: [{ ...job(id, 1, 'work'), claimedBy: 'h1' }] });

/** A store without `commitBatch` is driven entry by entry; its group-commit spec is skipped, visibly. */
function batchOf(store: Store, skip: () => void): NonNullable<Store['commitBatch']> {
  if (!store.commitBatch) skip();
  return store.commitBatch!.bind(store);
}

/** Three results of running jobs the stores must refuse to apply: run-a has an earlier event waiting, run-b's step will name a stale seq, run-c's result comes from another owner. */
async function refusable(store: Store): Promise<{ waiting: JobCompletion; stale: JobCompletion; gone: JobCompletion }> {
  const waiting = await runningJob(store, 'run-a');
  await store.enqueue([{ actorId: 'run-a', type: 'earlier', event: '{"type":"earlier"}', dueAt: T0, source: 'external' }]);
  return { waiting, stale: await runningJob(store, 'run-b'), gone: await runningJob(store, 'run-c') };
}

/** Runs one step that creates a job, claims it for `h1`, and returns the completion of its attempt. */
async function runningJob(store: Store, actorId: string): Promise<JobCompletion> {
  await startRun(store, actorId);
  await step(store, actorId, { jobs: [job(actorId, 1, 'work')] });
  await store.claimJob(`${actorId}:1:0`, 'h1', T0, []);
  return {
    key: `${actorId}:1:0`,
    owner: 'h1',
    status: 'done',
    output: '{"value":7}',
    error: null,
    journal: '[{"attempt":1,"outcome":"ok"}]',
    event: { actorId, type: 'xstate.done.actor.work', event: '{"type":"xstate.done.actor.work","output":{"value":7}}', dueAt: T0 + 10, source: `activity:${actorId}:1:0` },
  };
}

/** The optional group commit (`commitBatch`): many steps and results in one transaction, each entry atomic on its own. */
export function runGroupCommitContract(withStore: WithStore): void {
  describe('Store contract (host): group commit', () => {
    it('commits the steps of many actors together, and a refused entry writes nothing of its own while the others commit', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        for (const id of ['run-a', 'run-b', 'run-c']) await startRun(store, id);
        const init = async (id: string) => (await store.nextEvents(id, T0, 1))[0]!.id;
        const results = await commitBatch([
          { step: commitOf('run-a', 0, await init('run-a'), 'xstate.init') },
          { step: commitOf('run-b', 7, await init('run-b'), 'xstate.init') }, // stale seq
          { step: { ...commitOf('run-c', 0, await init('run-c'), 'xstate.init'), jobs: [job('run-c', 1, 'work'), job('run-c', 1, 'work')] } }, // duplicate job key
        ]);
        expect(results[0]).toEqual({ ok: true });
        expect(results[1]).toEqual({ ok: false, reason: 'conflict' });
        expect(results[2]).toMatchObject({ ok: false, reason: 'failed' });
        expect((results[2] as { error: Error }).error).toBeInstanceOf(Error);
        expect(await store.getActor('run-a')).toMatchObject({ seq: 1 });
        expect(await store.getActor('run-b')).toMatchObject({ seq: 0 });
        expect(await store.getActor('run-c')).toMatchObject({ seq: 0 });
        expect(await store.listJobs({ runId: 'run-c' })).toEqual([]);
        expect(await store.nextEvents('run-c', T0, 10)).toHaveLength(1); // its event was not consumed
      }));

    it('journals an activity result and applies it in the same commit, claiming the job the step creates for its host', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        await registerHosts(store, 'h1', 'h2');
        const completion = await runningJob(store, 'run-a');
        const next = { ...job('run-a', 2, 'work'), claimedBy: 'h1' };
        const results = await commitBatch([{ completion, step: { ...commitOf('run-a', 1, 0, 'xstate.done.actor.work'), eventId: null, jobs: [next] } }]);
        expect(results).toEqual([{ ok: true }]);
        expect(await store.getJob('run-a:1:0')).toMatchObject({ status: 'done', output: '{"value":7}', journal: '[{"attempt":1,"outcome":"ok"}]' });
        expect(await store.getActor('run-a')).toMatchObject({ seq: 2, stateValue: '"s2"' });
        expect((await store.history('run-a')).at(-1)).toMatchObject({ seq: 2, eventType: 'xstate.done.actor.work' });
        expect(await store.nextEvents('run-a', T0 + 10_000, 10)).toEqual([]); // applied, never queued
        expect(await store.getJob('run-a:2:0')).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
        expect(await store.claimJob('run-a:2:0', 'h2', T0, [])).toBeUndefined();
        expect(await store.claimJob('run-a:2:0', 'h2', T0, ['h1'])).toMatchObject({ attempts: 2 }); // a dead claimer's job is taken over
      }));

    it('puts the result in the mailbox instead when an earlier event waits there or the seq moved, and writes nothing for a result that is not the running attempt', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        const { waiting, stale, gone } = await refusable(store);
        const results = await commitBatch([
          { completion: waiting, step: { ...commitOf('run-a', 1, 0, 'xstate.done.actor.work'), eventId: null } },
          { completion: stale, step: { ...commitOf('run-b', 5, 0, 'xstate.done.actor.work'), eventId: null } },
          { completion: { ...gone, owner: 'h2' }, step: { ...commitOf('run-c', 1, 0, 'xstate.done.actor.work'), eventId: null } },
        ]);
        expect(results).toEqual([
          { ok: false, reason: 'queued' },
          { ok: false, reason: 'conflict' },
          { ok: false, reason: 'refused' }, // another owner's attempt: a fenced-out result
        ]);
        expect((await store.nextEvents('run-a', T0 + 10, 10)).map((e) => e.type)).toEqual(['earlier', 'xstate.done.actor.work']);
        expect((await store.nextEvents('run-b', T0 + 10, 10)).map((e) => e.type)).toEqual(['xstate.done.actor.work']);
        expect(await store.nextEvents('run-c', T0 + 10, 10)).toEqual([]);
        expect(await store.getJob('run-a:1:0')).toMatchObject({ status: 'done' });
        expect(await store.getJob('run-b:1:0')).toMatchObject({ status: 'done' });
        expect(await store.getJob('run-c:1:0')).toMatchObject({ status: 'running', owner: 'h1' });
        for (const id of ['run-a', 'run-b', 'run-c']) expect(await store.getActor(id)).toMatchObject({ seq: 1 });
      }));

    it('gives an entry batched alone (a store may write it without savepoints) the same outcomes, and applies it when nothing refuses it', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        const { waiting, stale, gone } = await refusable(store);
        const applied = await runningJob(store, 'run-d');
        expect(await commitBatch([{ completion: waiting, step: { ...commitOf('run-a', 1, 0, 'xstate.done.actor.work'), eventId: null } }])).toEqual([{ ok: false, reason: 'queued' }]);
        expect(await commitBatch([{ completion: stale, step: { ...commitOf('run-b', 5, 0, 'xstate.done.actor.work'), eventId: null } }])).toEqual([{ ok: false, reason: 'conflict' }]);
        expect(await commitBatch([{ completion: { ...gone, owner: 'h2' }, step: { ...commitOf('run-c', 1, 0, 'xstate.done.actor.work'), eventId: null } }])).toEqual([{ ok: false, reason: 'refused' }]);
        expect(await commitBatch([{ completion: applied, step: { ...commitOf('run-d', 1, 0, 'xstate.done.actor.work'), eventId: null } }])).toEqual([{ ok: true }]);
        expect((await store.nextEvents('run-a', T0 + 10, 10)).map((e) => e.type)).toEqual(['earlier', 'xstate.done.actor.work']);
        expect((await store.nextEvents('run-b', T0 + 10, 10)).map((e) => e.type)).toEqual(['xstate.done.actor.work']);
        expect(await store.nextEvents('run-c', T0 + 10, 10)).toEqual([]);
        expect(await store.nextEvents('run-d', T0 + 10, 10)).toEqual([]);
        for (const id of ['run-a', 'run-b', 'run-d']) expect(await store.getJob(`${id}:1:0`)).toMatchObject({ status: 'done' });
        expect(await store.getJob('run-c:1:0')).toMatchObject({ status: 'running', owner: 'h1' });
        for (const id of ['run-a', 'run-b', 'run-c']) expect(await store.getActor(id)).toMatchObject({ seq: 1 });
        expect(await store.getActor('run-d')).toMatchObject({ seq: 2 });
        expect((await store.history('run-d')).map((h) => [h.seq, h.eventType])).toEqual([[1, 'xstate.init'], [2, 'xstate.done.actor.work']]);
      }));

    it('creates an actor with its first step in one entry (a store that says createsWithStep), and a taken id fails that entry alone', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        if (!store.createsWithStep) ctx.skip();
        await registerHosts(store, 'h1');
        await startRun(store, 'run-taken');
        const results = await commitBatch([
          { create: newRun('run-new'), step: firstStep('run-new') },
          { create: newRun('run-taken'), step: firstStep('run-taken') },
        ]);
        expect(results[0]).toEqual({ ok: true });
        expect(results[1]).toMatchObject({ ok: false, reason: 'failed' });
        expect(await store.getActor('run-new')).toMatchObject({ owner: 'h1', ownerEpoch: 0, seq: 1, status: 'active', stateValue: '"s1"' });
        expect((await store.history('run-new')).map((h) => [h.seq, h.eventType, h.event])).toEqual([[1, 'xstate.init', '{"type":"xstate.init"}']]);
        expect(await store.nextEvents('run-new', Number.MAX_SAFE_INTEGER, 10)).toEqual([]); // no mailbox row, created or consumed
        expect(await store.getJob('run-new:1:0')).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
        // The taken id's entry wrote nothing: its actor is as startRun left it, with no job of the entry.
        expect(await store.getActor('run-taken')).toMatchObject({ seq: 0, owner: null });
        expect(await store.getJob('run-taken:1:0')).toBeUndefined();
        // The next step of the created actor knows its base: a delta history row decodes to its snapshot.
        await store.enqueue([{ actorId: 'run-new', type: 'next', event: '{"type":"next"}', dueAt: T0, source: 'external' }]);
        const [next] = await store.nextEvents('run-new', Number.MAX_SAFE_INTEGER, 1);
        expect(await store.commitStep({ ...commitOf('run-new', 1, next!.id, 'next'), fence: { owner: 'h1', epoch: 0 } })).toEqual({ ok: true });
        expect((await store.history('run-new')).map((h) => JSON.parse(h.snapshot).value)).toEqual(['s1', 's2']);
      }));

    it('creates an actor with its first step in a batch whose other entries are written one by one (a dead letter), a taken id failing its entry alone there too', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        if (!store.createsWithStep) ctx.skip();
        await registerHosts(store, 'h1');
        await startRun(store, 'run-taken');
        await startRun(store, 'run-other');
        const [init] = await store.nextEvents('run-other', Number.MAX_SAFE_INTEGER, 1);
        const letter = { actorId: 'run-other', event: '{"type":"lost"}', reason: 'no such actor', issues: null, source: 'run-other' };
        const results = await commitBatch([
          { create: newRun('run-new'), step: firstStep('run-new') },
          { step: { ...commitOf('run-other', 0, init!.id, 'xstate.init'), deadLetters: [letter] } },
          { create: newRun('run-taken'), step: firstStep('run-taken') },
        ]);
        expect(results.slice(0, 2)).toEqual([{ ok: true }, { ok: true }]);
        expect(results[2]).toMatchObject({ ok: false, reason: 'failed' });
        expect(await store.getActor('run-new')).toMatchObject({ owner: 'h1', seq: 1, status: 'active', stateValue: '"s1"' });
        expect((await store.history('run-new')).map((h) => [h.seq, h.eventType])).toEqual([[1, 'xstate.init']]);
        expect(await store.getJob('run-new:1:0')).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
        expect(await store.getActor('run-other')).toMatchObject({ seq: 1 });
        expect(await store.listDeadLetters('run-other')).toMatchObject([{ reason: 'no such actor' }]);
        expect(await store.getActor('run-taken')).toMatchObject({ seq: 0, owner: null });
        expect(await store.getJob('run-taken:1:0')).toBeUndefined();
      }));

    it('refuses an entry that creates an actor with anything but its first step, writing nothing of it', (ctx) =>
      withStore(async (store) => {
        const commitBatch = batchOf(store, () => ctx.skip());
        if (!store.createsWithStep) ctx.skip();
        const actor = { id: 'run-odd', runId: 'run-odd', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null };
        await expect(commitBatch([{ create: actor, step: commitOf('run-odd', 3, 0, 'late') }])).rejects.toThrow(/first step/);
        expect(await store.getActor('run-odd')).toBeUndefined();
      }));
  });
}
