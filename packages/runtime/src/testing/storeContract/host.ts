import { describe, expect, it } from 'vitest';
import { commitOf, job, startRun, step, T0 } from './build.js';
import type { WithStore } from './index.js';

/** The host role (`HostStore`): machine versions, actors, mailboxes, step commits, jobs, ownership, liveness. */
export function runHostContract(withStore: WithStore): void {
  describe('Store contract (host): machine versions, actors and mailboxes', () => {
    it('stores a machine version once and lists the versions of a machine', () =>
      withStore(async (store) => {
        await store.saveMachineVersion('m', 'v1', '{"a":1}');
        await store.saveMachineVersion('m', 'v1', '{"changed":true}');
        await store.saveMachineVersion('m', 'v2', '{"a":2}');
        await store.saveMachineVersion('other', 'v1', '{}');
        expect(await store.getMachineVersion('m', 'v1')).toBe('{"a":1}');
        expect(await store.getMachineVersion('m', 'nope')).toBeUndefined();
        expect((await store.listMachineVersions('m')).map((v) => v.version).sort()).toEqual(['v1', 'v2']);
        expect((await store.listMachineVersions()).length).toBe(3);
      }));

    it('creates actors with their first events, lists them by run and status, and lists active children by key', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await store.createActors([{ id: 'run-a/k', runId: 'run-a', parentId: 'run-a', childKey: 'k', machine: 'child', version: 'v1', owner: null }], [
          { actorId: 'run-a/k', type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: T0, source: 'run-a' },
        ]);
        await startRun(store, 'run-b');
        expect(await store.getActor('run-a/k')).toMatchObject({ id: 'run-a/k', runId: 'run-a', parentId: 'run-a', childKey: 'k', machine: 'child', version: 'v1', seq: 0, status: 'active', snapshot: null });
        expect(await store.getActor('missing')).toBeUndefined();
        expect((await store.listActors({ runId: 'run-a' })).map((a) => a.id).sort()).toEqual(['run-a', 'run-a/k']);
        expect((await store.listActors({ rootsOnly: true })).map((a) => a.id).sort()).toEqual(['run-a', 'run-b']);
        const [first, ...rest] = await store.listActors({ rootsOnly: true });
        expect((await store.listActors({ rootsOnly: true, limit: 1 })).map((a) => a.id)).toEqual([first!.id]);
        expect((await store.listActors({ rootsOnly: true, after: { createdAt: first!.createdAt, id: first!.id } })).map((a) => a.id)).toEqual(rest.map((a) => a.id));
        expect(await store.listActors({ rootsOnly: true, after: { createdAt: rest[0]!.createdAt, id: rest[0]!.id } })).toEqual([]);
        expect(await store.childrenOf('run-a')).toEqual([{ id: 'run-a/k', childKey: 'k', machine: 'child' }]);
        expect(await store.childrenOf('run-b')).toEqual([]);
      }));

    it('returns due events in due-time order, keeps future ones back, and dead-letters a discarded one', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a');
        const ids = await store.enqueue([
          { actorId: 'run-a', type: 'one', event: '{"type":"one"}', dueAt: T0, source: 'external' },
          { actorId: 'run-a', type: 'later', event: '{"type":"later"}', dueAt: T0 + 1000, source: 'external' },
          { actorId: 'run-a', type: 'two', event: '{"type":"two"}', dueAt: T0, source: 'external' },
        ]);
        expect(ids).toHaveLength(3);
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => e.type)).toEqual(['one', 'two']);
        expect((await store.nextEvents('run-a', T0 + 1000, 10)).map((e) => e.type)).toEqual(['one', 'two', 'later']);
        await store.discardEvent(ids[0]!, { actorId: 'run-a', event: '{"type":"one"}', reason: 'finished', issues: null, source: 'external' });
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => e.type)).toEqual(['two']);
        await store.recordDeadLetters([{ actorId: 'run-a', event: '{"type":"bad"}', reason: 'refused', issues: '[{"path":"x","message":"m"}]', source: 'external' }]);
        expect((await store.listDeadLetters('run-a')).map((d) => d.reason)).toEqual(['finished', 'refused']);
        expect(await store.listDeadLetters('nobody')).toEqual([]);
      }));
  });

  describe('Store contract (host): step commits', () => {
    it('fences a commit by seq and refuses one whose event was consumed, writing nothing of either', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const [init] = await store.nextEvents('run-a', T0, 1);
        expect(await store.commitStep({ ...commitOf('run-a', 5, init!.id, 'xstate.init') })).toEqual({ ok: false, reason: 'conflict' });
        expect(await store.commitStep(commitOf('run-a', 0, init!.id, 'xstate.init'))).toEqual({ ok: true });
        expect(await store.commitStep(commitOf('run-a', 1, init!.id, 'xstate.init'))).toEqual({ ok: false, reason: 'consumed' });
        expect(await store.getActor('run-a')).toMatchObject({ seq: 1, stateValue: '"s1"' });
        expect((await store.history('run-a')).map((h) => [h.seq, h.eventType])).toEqual([[1, 'xstate.init']]);
      }));

    it('applies a step\'s cancels before its new rows: a timer re-armed with the same id stays, "*" removes every delayed send', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { messages: [{ actorId: 'run-a', type: 'tick', event: '{"type":"tick"}', dueAt: T0 + 500, sendId: 't', source: 'run-a' }] });
        await step(store, 'run-a', { cancelTimers: ['t'], messages: [{ actorId: 'run-a', type: 'tick', event: '{"type":"tick"}', dueAt: T0 + 900, sendId: 't', source: 'run-a' }] });
        expect(await store.nextWakeAt(T0)).toBe(T0 + 900);
        expect((await store.nextEvents('run-a', T0 + 10_000, 10)).filter((e) => e.type === 'tick').map((e) => e.dueAt)).toEqual([T0 + 900]);
        await step(store, 'run-a', { cancelTimers: ['*'] });
        expect(await store.nextWakeAt(T0)).toBeUndefined();
      }));

    it('writes a finishing step with its output and stops the children it names', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { spawn: [{ id: 'run-a/k', runId: 'run-a', parentId: 'run-a', childKey: 'k', machine: 'child', version: 'v1', owner: null }] });
        await step(store, 'run-a', { status: 'done', output: '{"ok":true}', stop: ['run-a/k'] });
        expect(await store.getActor('run-a')).toMatchObject({ status: 'done', output: '{"ok":true}' });
        expect(await store.getActor('run-a/k')).toMatchObject({ status: 'stopped' });
        expect(await store.childrenOf('run-a')).toEqual([]);
      }));
  });

  describe('Store contract (host): jobs, ownership and liveness', () => {
    it('claims a due job once, backs it off durably, and completes it with its event only for its owner', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { jobs: [job('run-a', 1, 'work')] });
        expect((await store.runnable(T0, 'h1', [], 10)).jobs).toEqual([{ key: 'run-a:1:0', actorId: 'run-a' }]);
        const claimed = await store.claimJob('run-a:1:0', 'h1', T0, []);
        expect(claimed).toMatchObject({ status: 'running', owner: 'h1', attempts: 1 });
        expect(await store.claimJob('run-a:1:0', 'h2', T0, [])).toBeUndefined();
        expect(await store.retryJob({ key: 'run-a:1:0', owner: 'h1', runAt: T0 + 5000, journal: '[{"attempt":1}]' })).toBe(true);
        expect(await store.nextWakeAt(T0)).toBe(T0 + 5000);
        expect(await store.claimJob('run-a:1:0', 'h1', T0, [])).toBeUndefined();
        expect(await store.claimJob('run-a:1:0', 'h1', T0 + 5000, [])).toMatchObject({ attempts: 2 });
        const completion = { key: 'run-a:1:0', status: 'done' as const, output: '1', error: null, journal: '[{"attempt":1},{"attempt":2}]', event: { actorId: 'run-a', type: 'xstate.done.actor.work', event: '{"type":"xstate.done.actor.work"}', dueAt: T0, source: 'activity:run-a:1:0' } };
        expect(await store.completeJob({ ...completion, owner: 'h2' })).toBe(false);
        expect(await store.completeJob({ ...completion, owner: 'h1' })).toBe(true);
        expect(await store.getJob('run-a:1:0')).toMatchObject({ status: 'done', output: '1', attempts: 2 });
        expect((await store.listJobs({ runId: 'run-a', status: ['done'] })).map((j) => j.key)).toEqual(['run-a:1:0']);
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => e.type)).toContain('xstate.done.actor.work');
      }));

    it('hands actors to one host at a time, to another only when the first is dead or released them', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        expect(await store.claimActors(['run-a'], 'h1', [])).toEqual(['run-a']);
        expect(await store.claimActors(['run-a'], 'h2', [])).toEqual([]);
        expect((await store.runnable(T0, 'h2', [], 10)).actors).toEqual([]);
        expect(await store.claimActors(['run-a'], 'h2', ['h1'])).toEqual(['run-a']);
        await store.releaseOwner('h2');
        expect((await store.getActor('run-a'))?.owner).toBeNull();
        expect(await store.claimActors(['run-a'], 'h1', [])).toEqual(['run-a']);
      }));

    it('records heartbeats, lists the hosts seen and forgets a removed host', () =>
      withStore(async (store) => {
        await store.heartbeat({ id: 'h1', hostname: 'a', pid: 1, startedAt: T0, heartbeatAt: T0 });
        const seen = await store.heartbeat({ id: 'h2', hostname: 'b', pid: 2, startedAt: T0, heartbeatAt: T0 + 10 });
        expect(seen.map((h) => h.id).sort()).toEqual(['h1', 'h2']);
        await store.removeHost('h1');
        expect((await store.heartbeat({ id: 'h2', hostname: 'b', pid: 2, startedAt: T0, heartbeatAt: T0 + 20 })).map((h) => [h.id, h.heartbeatAt])).toEqual([['h2', T0 + 20]]);
      }));

    it("reports a run's waiting work: due events, active jobs and the next wake time", () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        expect(await store.runActivity('run-a', T0)).toMatchObject({ dueEvents: 1, activeJobs: 0 });
        await step(store, 'run-a', { jobs: [job('run-a', 1, 'work')], messages: [{ actorId: 'run-a', type: 't', event: '{"type":"t"}', dueAt: T0 + 700, sendId: 't', source: 'run-a' }] });
        expect(await store.runActivity('run-a', T0)).toEqual({ dueEvents: 0, activeJobs: 1, nextWakeAt: T0 + 700 });
      }));
  });
}
