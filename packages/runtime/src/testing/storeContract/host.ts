import { describe, expect, it } from 'vitest';
import { approvalFor, commitOf, job, registerHosts, startRun, step, T0 } from './build.js';
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
        // Without snapshots: the same records, each with snapshot null.
        expect(await store.listActors({ runId: 'run-a', snapshots: false })).toEqual((await store.listActors({ runId: 'run-a' })).map((a) => ({ ...a, snapshot: null })));
        expect(await store.childrenOf('run-a')).toEqual([{ id: 'run-a/k', childKey: 'k', machine: 'child', seq: 0 }]);
        expect(await store.childrenOf('run-b')).toEqual([]);
      }));

    it("answers the ids of the events it created in the order given, as the mailboxes hold them", () =>
      withStore(async (store) => {
        const actor = (id: string) => ({ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null });
        const event = (actorId: string, type: string, dueAt: number) => ({ actorId, type, event: JSON.stringify({ type }), dueAt, source: 'external' });
        const created = await store.createActors([actor('run-x'), actor('run-y')], [event('run-y', 'xstate.init', T0), event('run-x', 'xstate.init', T0), event('run-x', 'later', T0 + 1)]);
        expect(created.actors.map((a) => a.id)).toEqual(['run-x', 'run-y']);
        const [y] = await store.nextEvents('run-y', T0 + 1, 10);
        const [x, later] = await store.nextEvents('run-x', T0 + 1, 10);
        expect(created.eventIds).toEqual([y!.id, x!.id, later!.id]);
        // Events alone (no actor) answer their ids too.
        const alone = await store.createActors([], [event('run-y', 'more', T0 + 2)]);
        expect(alone).toEqual({ actors: [], eventIds: [(await store.nextEvents('run-y', T0 + 2, 10))[1]!.id] });
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

    it('stores an event only while its actor is active (enqueueIfActive), checked in the same statement, and tells whether it heads the mailbox', () =>
      withStore(async (store) => {
        // Optional in the Store interface (send reads the actor first without it); both Spine stores have it.
        expect(store.enqueueIfActive).toBeTypeOf('function');
        const event = (actorId: string, type: string, dueAt = T0) => ({ actorId, type, event: JSON.stringify({ type }), dueAt, source: 'external' });
        await startRun(store, 'run-a');
        await step(store, 'run-a');
        // A timer due later does not precede it: the first event stored heads the mailbox; the next,
        // due at the same time (after it by id), does not.
        await store.enqueue([event('run-a', 'timer', T0 + 60_000)]);
        const kept = await store.enqueueIfActive!(event('run-a', 'kept'));
        expect(kept).toEqual({ id: expect.any(Number), first: true });
        const next = await store.enqueueIfActive!(event('run-a', 'next'));
        expect(next).toEqual({ id: expect.any(Number), first: false });
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => [e.id, e.type])).toEqual([
          [kept!.id, 'kept'],
          [next!.id, 'next'],
        ]);
        await step(store, 'run-a');
        await step(store, 'run-a', { status: 'done', output: '{"ok":true}' });
        expect(await store.enqueueIfActive!(event('run-a', 'late'))).toBeUndefined();
        expect(await store.enqueueIfActive!(event('missing', 'lost'))).toBeUndefined();
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => e.type)).toEqual([]);
        expect(await store.nextEvents('missing', T0, 10)).toEqual([]);
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

    it("applies a step's cancels before its new rows: a timer re-armed with the same id stays; only the send ids named are deleted, in any mailbox", () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await startRun(store, 'run-b');
        // Delayed sends of run-a into run-b's mailbox (a step consumes the oldest event of its own).
        const tick = (dueAt: number, sendId: string) => ({ actorId: 'run-b', type: 'tick', event: '{"type":"tick"}', dueAt, sendId, source: 'run-a' });
        const pending = async () => (await store.nextEvents('run-b', T0 + 10_000, 10)).filter((e) => e.type === 'tick').map((e) => [e.sendId, e.dueAt]);
        await step(store, 'run-a', { messages: [tick(T0 + 500, 't'), tick(T0 + 600, 'u'), tick(T0 + 700, 'v')] });
        expect((await store.openWorkOf(['run-a']))[0]!.timers).toEqual(['t', 'u', 'v']);
        await step(store, 'run-a', { cancelTimers: ['t'], messages: [tick(T0 + 900, 't')] });
        expect(await pending()).toEqual([
          ['u', T0 + 600],
          ['v', T0 + 700],
          ['t', T0 + 900],
        ]);
        // A finishing actor's plan names every delayed send it read; the store deletes those and no others.
        await step(store, 'run-a', { status: 'done', cancelTimers: ['t', 'v'] });
        expect(await pending()).toEqual([['u', T0 + 600]]);
        expect(await store.nextWakeAt(T0)).toBe(T0 + 600);
      }));

    it('writes a finishing step with its output and stops the children it names', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { spawn: [{ id: 'run-a/k', runId: 'run-a', parentId: 'run-a', childKey: 'k', machine: 'child', version: 'v1', owner: null }] });
        await step(store, 'run-a', { status: 'done', output: '{"ok":true}', stop: [{ id: 'run-a/k', expectedSeq: 0, cancelJobs: [] }] });
        expect(await store.getActor('run-a')).toMatchObject({ status: 'done', output: '{"ok":true}' });
        // Without its snapshot (kept in the history by some stores once finished): the same record, snapshot null.
        const done = await store.getActor('run-a');
        expect(done!.snapshot).not.toBeNull();
        expect(await store.getActor('run-a', { snapshot: false })).toEqual({ ...done, snapshot: null });
        expect(await store.getActor('run-a/k', { snapshot: false })).toEqual({ ...(await store.getActor('run-a/k')), snapshot: null });
        expect(await store.getActor('missing', { snapshot: false })).toBeUndefined();
        expect(await store.getActor('run-a/k')).toMatchObject({ status: 'stopped', seq: 1 });
        expect(await store.historyRow('run-a/k', 1)).toMatchObject({ eventType: 'xstate.stop', status: 'stopped' });
        expect(await store.childrenOf('run-a')).toEqual([]);
      }));

    it('stops exactly the actors it is told to, cancels the jobs listed with each, and walks no tree itself', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const kid = { id: 'run-a/k', runId: 'run-a', parentId: 'run-a', childKey: 'k', machine: 'child', version: 'v1', owner: null };
        await step(store, 'run-a', { spawn: [kid], messages: [{ actorId: kid.id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: T0, source: 'run-a' }] });
        await step(store, kid.id, { spawn: [{ ...kid, id: 'run-a/k/g', parentId: kid.id, childKey: 'g' }], jobs: [job(kid.id, 1, 'work'), job(kid.id, 1, 'other', { index: 1 })] });
        expect(await store.childrenOf(kid.id)).toEqual([{ id: 'run-a/k/g', childKey: 'g', machine: 'child', seq: 0 }]);
        expect((await store.openWorkOf([kid.id]))[0]!.jobs.map((j) => [j.childId, j.status])).toEqual([
          ['work', 'pending'],
          ['other', 'pending'],
        ]);

        await step(store, 'run-a', { stop: [{ id: kid.id, expectedSeq: 1, cancelJobs: ['work'] }] });
        expect(await store.getActor(kid.id)).toMatchObject({ status: 'stopped', seq: 2 });
        expect(await store.historyRow(kid.id, 2)).toMatchObject({ eventType: 'xstate.stop', status: 'stopped' });
        expect((await store.listJobs({ actorId: kid.id })).map((j) => [j.childId, j.status])).toEqual([
          ['work', 'cancelled'],
          ['other', 'pending'],
        ]);
        // The grandchild was not named: it stays as it was (the plan, not the store, lists the subtree).
        expect(await store.getActor('run-a/k/g')).toMatchObject({ status: 'active', seq: 0 });
      }));

    it('refuses a commit whose stop was planned on a seq the actor has moved past, and writes nothing of it', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const kid = { id: 'run-a/k', runId: 'run-a', parentId: 'run-a', childKey: 'k', machine: 'child', version: 'v1', owner: null };
        await step(store, 'run-a', { spawn: [kid], messages: [{ actorId: kid.id, type: 'xstate.init', event: '{"type":"xstate.init"}', dueAt: T0, source: 'run-a' }] });
        const { seq } = (await store.childrenOf('run-a'))[0]!;
        // The child steps (here: spawns a grandchild) after the parent's plan read it.
        await step(store, kid.id, { spawn: [{ ...kid, id: 'run-a/k/g', parentId: kid.id, childKey: 'g' }] });
        const [eventId] = await store.enqueue([{ actorId: 'run-a', type: 'go', event: '{"type":"go"}', dueAt: T0, source: 'external' }]);
        const stale = { ...commitOf('run-a', 1, eventId!), status: 'done' as const, stop: [{ id: kid.id, expectedSeq: seq, cancelJobs: [] }] };
        expect(await store.commitStep(stale)).toEqual({ ok: false, reason: 'conflict' });
        expect(await store.getActor('run-a')).toMatchObject({ status: 'active', seq: 1 });
        expect(await store.getActor(kid.id)).toMatchObject({ status: 'active', seq: 1 });
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => e.id)).toEqual([eventId]);
        expect(await store.history('run-a')).toHaveLength(1);
        // Stopping an actor that is no longer active is refused the same way.
        await step(store, 'run-a/k/g', { status: 'done' });
        const again = { ...stale, stop: [{ id: kid.id, expectedSeq: 1, cancelJobs: [] }, { id: 'run-a/k/g', expectedSeq: 0, cancelJobs: [] }] };
        expect(await store.commitStep(again)).toEqual({ ok: false, reason: 'conflict' });
        expect(await store.getActor(kid.id)).toMatchObject({ status: 'active', seq: 1 });
      }));

    it('cancels the approvals it names and appends exactly the audit rows it is given; refuses one no longer pending', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const held = job('run-a', 1, 'publish', { held: true });
        const other = job('run-a', 1, 'charge', { index: 1, held: true });
        await step(store, 'run-a', { jobs: [held, other], approvals: [approvalFor(held), approvalFor(other)] });
        const [work] = await store.openWorkOf(['run-a']);
        expect(work!.approvals).toEqual([
          { id: `approval:${held.key}`, runId: 'run-a', childId: 'publish', src: 'publish', jobKey: held.key },
          { id: `approval:${other.key}`, runId: 'run-a', childId: 'charge', src: 'charge', jobKey: other.key },
        ]);
        expect(work!.jobs.map((j) => [j.key, j.status])).toEqual([
          [held.key, 'held'],
          [other.key, 'held'],
        ]);

        const entry = { at: T0 + 1, runId: 'run-a', actorId: 'run-a', kind: 'approval.cancelled' as const, who: 'system', subject: `approval:${held.key}`, detail: '{"reason":"planned text"}' };
        await step(store, 'run-a', { cancelJobs: ['publish'], cancelApprovals: [`approval:${held.key}`], audit: [entry] });
        expect(await store.getApproval(`approval:${held.key}`)).toMatchObject({ status: 'cancelled' });
        expect(await store.getJob(held.key)).toMatchObject({ status: 'cancelled' });
        expect(await store.getApproval(`approval:${other.key}`)).toMatchObject({ status: 'pending' });
        expect((await store.listAudit({ runId: 'run-a' })).map((a) => [a.kind, a.who, a.subject, a.detail])).toEqual([['approval.cancelled', 'system', `approval:${held.key}`, '{"reason":"planned text"}']]);

        // Decided after the plan read it: the commit is stale and writes nothing.
        expect(await store.resolveApproval({ approvalId: `approval:${other.key}`, outcome: 'approved', decidedBy: 'ada', jobInput: other.input, audit: [], now: T0 + 2 })).toBe(true);
        const [eventId] = await store.enqueue([{ actorId: 'run-a', type: 'go', event: '{"type":"go"}', dueAt: T0, source: 'external' }]);
        const seq = (await store.getActor('run-a'))!.seq;
        const stale = { ...commitOf('run-a', seq, eventId!), cancelApprovals: [`approval:${other.key}`], audit: [{ ...entry, subject: `approval:${other.key}` }] };
        expect(await store.commitStep(stale)).toEqual({ ok: false, reason: 'conflict' });
        expect(await store.getApproval(`approval:${other.key}`)).toMatchObject({ status: 'approved' });
        expect(await store.listAudit({ runId: 'run-a' })).toHaveLength(1);
        expect(await store.verifyAudit()).toMatchObject({ ok: true });
      }));

    it('reads the open work of actors: open jobs, pending approvals and stored delayed sends, empty for an unknown id', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { jobs: [job('run-a', 1, 'work'), job('run-a', 1, 'done', { index: 1 })], messages: [{ actorId: 'run-a', type: 't', event: '{"type":"t"}', dueAt: T0 + 5, sendId: 'x', source: 'run-a' }] });
        await store.claimJob('run-a:1:1', 'h1', T0, []);
        await store.completeJob({ key: 'run-a:1:1', owner: 'h1', status: 'done', output: '1', error: null, journal: '[]', event: { actorId: 'run-a', type: 'xstate.done.actor.done', event: '{"type":"xstate.done.actor.done"}', dueAt: T0, source: 'activity' } });
        expect(await store.openWorkOf(['nobody', 'run-a'])).toEqual([
          { actorId: 'nobody', jobs: [], approvals: [], timers: [] },
          { actorId: 'run-a', jobs: [{ key: 'run-a:1:0', childId: 'work', status: 'pending' }], approvals: [], timers: ['x'] },
        ]);
      }));
  });

  describe('Store contract (host): jobs, ownership and liveness', () => {
    it('claims a due job once, backs it off durably, and completes it with its event only for its owner', () =>
      withStore(async (store) => {
        await registerHosts(store, 'h1', 'h2');
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
        await registerHosts(store, 'h1', 'h2');
        await startRun(store, 'run-a');
        expect(await store.claimActors(['run-a'], 'h1', [])).toEqual(['run-a']);
        expect(await store.claimActors(['run-a'], 'h2', [])).toEqual([]);
        expect((await store.runnable(T0, 'h2', [], 10)).actors).toEqual([]);
        expect(await store.claimActors(['run-a'], 'h2', ['h1'])).toEqual(['run-a']);
        await store.releaseOwner('h2');
        expect((await store.getActor('run-a'))?.owner).toBeNull();
        expect(await store.claimActors(['run-a'], 'h1', [])).toEqual(['run-a']);
      }));

    it('claims at most `limit` actors that change hands, the first asked, besides those the host holds already', () =>
      withStore(async (store) => {
        await registerHosts(store, 'h1', 'h2');
        for (const id of ['run-a', 'run-b', 'run-c', 'run-d']) await startRun(store, id);
        expect(await store.claimActors(['run-c'], 'h1', [])).toEqual(['run-c']);
        const epochOfC = (await store.getActor('run-c'))!.ownerEpoch;
        expect((await store.claimActors(['run-d', 'run-c', 'run-b', 'run-a'], 'h1', [], Date.now(), 1)).sort()).toEqual(['run-c', 'run-d']);
        expect((await store.getActor('run-c'))!.ownerEpoch).toBe(epochOfC);
        expect(await store.claimActors(['run-a', 'run-b', 'run-c'], 'h2', [], Date.now(), 0)).toEqual([]);
        expect((await store.claimActors(['run-c', 'run-b', 'run-a'], 'h2', [], Date.now(), 5)).sort()).toEqual(['run-a', 'run-b']);
        expect((await store.listActors({ limit: 10 })).map((a) => [a.id, a.owner]).sort()).toEqual([
          ['run-a', 'h2'],
          ['run-b', 'h2'],
          ['run-c', 'h1'],
          ['run-d', 'h1'],
        ]);
      }));

    it('records heartbeats, lists the hosts seen and forgets a removed host', () =>
      withStore(async (store) => {
        await store.heartbeat({ id: 'h1', hostname: 'a', pid: 1, startedAt: T0, heartbeatAt: T0 });
        const seen = await store.heartbeat({ id: 'h2', hostname: 'b', pid: 2, startedAt: T0, heartbeatAt: T0 + 10 });
        expect(seen.hosts.map((h) => h.id).sort()).toEqual(['h1', 'h2']);
        await store.removeHost('h1');
        expect((await store.heartbeat({ id: 'h2', hostname: 'b', pid: 2, startedAt: T0, heartbeatAt: T0 + 20 })).hosts.map((h) => [h.id, h.heartbeatAt])).toEqual([['h2', T0 + 20]]);
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
