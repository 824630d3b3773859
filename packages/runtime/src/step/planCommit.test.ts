import { describe, expect, it } from 'vitest';
import { assign, sendTo, setup, spawnChild, stopChild, type AnyMachineSnapshot, type EventObject } from 'xstate';
import { z } from 'zod';
import { defineActivity, defineMachine, sendToActor, type MachineDefinition } from '../defineMachine.js';
import { MachineRegistry } from '../MachineRegistry.js';
import type { ActorRecord, OpenWork } from '../Store.js';
import { hostInitialTransition, hostTransition } from '../xstateLogic.js';
import { planCommit, type StepInputs, type StepResult } from './planCommit.js';
import { planStep } from './planStep.js';

// planCommit is pure: these tests build its inputs by hand and never open a store.

const NOW = 1_000_000;
const noInputs: StepInputs = { children: new Map(), descendants: new Map(), openWork: new Map(), takenIds: new Set(), machineOf: new Map(), lastJournal: null };

/** The open work of an actor as the store reads it. */
function work(actorId: string, over: Partial<Omit<OpenWork, 'actorId'>> = {}): [string, OpenWork] {
  return [actorId, { actorId, jobs: [], approvals: [], timers: [], ...over }];
}

function pendingApproval(actorId: string, childId: string, seq = 1) {
  const jobKey = `${actorId}:${seq}:0`;
  return { id: `approval:${jobKey}`, runId: 'r1', childId, src: childId, jobKey };
}

function record(over: Partial<ActorRecord> = {}): ActorRecord {
  return { id: 'r1', runId: 'r1', parentId: null, childKey: null, machine: 'm', version: 'v', seq: 0, status: 'active', snapshot: null, stateValue: null, output: null, error: null, owner: 'h', ownerEpoch: 0, createdAt: 0, updatedAt: 0, ...over };
}

/** Runs the machine's initial transition, then `events`, and plans the commit of the last one. */
function plan(definitions: MachineDefinition[], name: string, events: EventObject[], inputs: StepInputs = noInputs, actor: Partial<ActorRecord> = {}, finishes?: string) {
  const registry = new MachineRegistry();
  for (const d of definitions) registry.register(d);
  const version = registry.machine(name);
  const rec = record({ machine: name, ...actor });
  const options = { hasParent: rec.parentId !== null };
  let [snapshot, actions] = hostInitialTransition(version.machine, undefined, options);
  let event: EventObject = { type: 'xstate.init' };
  for (const next of events) {
    rec.seq++;
    rec.snapshot = JSON.stringify(version.machine.getPersistedSnapshot(snapshot));
    [snapshot, actions] = hostTransition(version.machine, snapshot as AnyMachineSnapshot, next, options);
    event = next;
  }
  const sorted = planStep(actions, { actorId: rec.id, seq: rec.seq + 1, now: NOW, isActivity: (src) => Boolean(version.definition.activities?.[src]), childMachine: (src) => version.childMachine(src) });
  const result: StepResult = { ok: true, next: snapshot, plan: sorted };
  return planCommit(rec, { id: 7, json: JSON.stringify(event), event, ...(finishes ? { finishes } : {}) }, result, inputs, { version, machine: (n) => registry.machine(n), hostId: 'h', now: NOW, durationUs: 5 });
}

const schemas = {};

describe('planCommit', () => {
  it('keeps a timer re-armed after its cancel in the same macrostep, and cancels the stored one first', () => {
    const loop = defineMachine({ name: 'm', config: { initial: 'waiting', states: { waiting: { after: { 500: 'checking' } }, checking: { always: 'waiting' } } }, schemas });
    const { commit } = plan([loop], 'm', [{ type: 'xstate.after.500.(machine).waiting' }]);
    const timer = commit.messages.find((m) => m.type.startsWith('xstate.after'))!;
    expect(timer).toMatchObject({ actorId: 'r1', dueAt: NOW + 500 });
    expect(commit.cancelTimers).toEqual([timer.sendId]);
  });

  it('plans no job for an activity whose invoking state is left in the same step', () => {
    const m = defineMachine({
      name: 'm',
      config: { initial: 'idle', states: { idle: { on: { go: 'working' } }, working: { invoke: { id: 'fx', src: 'fx' }, always: 'done' }, done: {} } },
      schemas,
      activities: { fx: defineActivity({ run: async () => 1 }) },
    });
    const { commit } = plan([m], 'm', [{ type: 'go' }]);
    expect(commit.jobs).toEqual([]);
    expect(commit.cancelJobs).toEqual([]);
    expect(JSON.parse(commit.stateValue)).toBe('done');
  });

  it('plans one child for a spawn, stop and spawn of the same id in one step', () => {
    const kid = defineMachine({ name: 'kid', config: { initial: 'a', states: { a: {} } }, schemas });
    const m = defineMachine({
      name: 'm',
      config: { initial: 'a', states: { a: { on: { go: { actions: ['spawnC', 'stopC', 'spawnC'] } } } } },
      schemas,
      actions: { spawnC: spawnChild('kid', { id: 'c' }), stopC: stopChild('c') },
    });
    const { commit } = plan([m, kid], 'm', [{ type: 'go' }]);
    expect(commit.spawn.map((s) => [s.id, s.childKey, s.machine])).toEqual([['r1/c', 'c', 'kid']]);
    expect(commit.stop).toEqual([]);
    expect(commit.messages.map((m) => [m.actorId, m.type])).toEqual([['r1/c', 'xstate.init']]);
  });

  it("hands a send to an activity child to the host (a callback's receive), writing no row for it; a delayed one is dead-lettered", () => {
    const m = defineMachine({
      name: 'm',
      config: { initial: 'a', states: { a: { invoke: { id: 'cb', src: 'cb' }, on: { go: { actions: ['now', 'later'] } } } } },
      schemas: { events: { go: z.object({}) } },
      actions: { now: sendTo('cb', { type: 'ping' }), later: sendTo('cb', { type: 'ping.later' }, { delay: 10 }) },
      activities: { cb: defineActivity({ run: async () => 1 }) },
    });
    const { commit, activityEvents } = plan([m], 'm', [{ type: 'go' }]);
    expect(activityEvents).toEqual([{ childId: 'cb', event: { type: 'ping' } }]);
    expect(commit.messages.map((message) => message.type)).toEqual(['spine.delivery.refused']);
    expect(commit.deadLetters.map((letter) => [JSON.parse(letter.event).type, letter.reason])).toEqual([['ping.later', expect.stringMatching(/delayed send to the activity child 'cb'/)]]);
  });

  it('gives a spawn whose id is taken a step-suffixed id', () => {
    const kid = defineMachine({ name: 'kid', config: { initial: 'a', states: { a: {} } }, schemas });
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: { actions: 'spawnC' } } } } }, schemas, actions: { spawnC: spawnChild('kid', { id: 'c' }) } });
    const { commit } = plan([m, kid], 'm', [{ type: 'go' }], { ...noInputs, takenIds: new Set(['r1/c']) });
    expect(commit.spawn.map((s) => s.id)).toEqual(['r1/c~2']);
  });

  it('dead-letters a send to an actor that does not exist and tells the sender in the same commit', () => {
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: { actions: 'tell' } } } } }, schemas, actions: { tell: sendToActor('ghost', { type: 'hi' }) } });
    const { commit } = plan([m], 'm', [{ type: 'go' }]);
    expect(commit.deadLetters).toMatchObject([{ actorId: 'ghost', reason: "No actor with id 'ghost'.", source: 'r1' }]);
    expect(commit.messages.map((x) => [x.actorId, x.type])).toEqual([['r1', 'spine.delivery.refused']]);
  });

  it('refuses a message the receiver schema rejects, with the field named', () => {
    const other = defineMachine({ name: 'other', config: { initial: 'a', states: { a: {} } }, schemas: { events: { hi: z.object({ n: z.number() }) } } });
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: { actions: 'tell' } } } } }, schemas, actions: { tell: sendToActor('o1', { type: 'hi', n: 'x' }) } });
    const { commit } = plan([m, other], 'm', [{ type: 'go' }], { ...noInputs, machineOf: new Map([['o1', 'other']]) });
    expect(commit.deadLetters).toHaveLength(1);
    expect(commit.deadLetters[0]).toMatchObject({ actorId: 'o1', source: 'r1' });
    expect(commit.deadLetters[0]!.reason).toMatch(/n: /);
    expect(commit.messages.map((x) => [x.actorId, x.type])).toEqual([['r1', 'spine.delivery.refused']]);
  });

  it('cancels the jobs of the activity children a step stops, except the one whose result it applies', () => {
    const work = defineActivity({ run: async () => 'ok' });
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { invoke: [{ id: 'fx', src: 'work', onDone: 'b' }, { id: 'gx', src: 'work' }] }, b: {} } }, schemas, activities: { work } });
    const done = { type: 'xstate.done.actor.fx', output: 'ok', actorId: 'fx' };
    // From the mailbox, the step cannot know the result's job is finished: both are cancelled.
    expect(plan([m], 'm', [done]).commit.cancelJobs).toEqual(['fx', 'gx']);
    // Applied with its result, the commit finishes fx's job itself: only gx's is cancelled.
    expect(plan([m], 'm', [done], noInputs, {}, 'fx').commit.cancelJobs).toEqual(['gx']);
  });

  it('tells the parent, cancels every job and stops every child when a child actor finishes', () => {
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: 'end' } }, end: { type: 'final' } } }, schemas, output: () => ({ ok: true }) });
    const inputs = { ...noInputs, children: new Map([['k', 'p/c/k']]), descendants: new Map([['p/c/k', { parentId: 'p/c', seq: 4 }]]), openWork: new Map([work('p/c', { jobs: [{ key: 'p/c:1:0', childId: 'fx', status: 'running' as const }] })]) };
    const { commit } = plan([m], 'm', [{ type: 'go' }], inputs, { id: 'p/c', parentId: 'p', childKey: 'c' });
    expect(commit.status).toBe('done');
    expect(commit.cancelJobs).toEqual(['fx']);
    expect(commit.stop).toEqual([{ id: 'p/c/k', expectedSeq: 4, cancelJobs: [] }]);
    expect(commit.messages.map((x) => [x.actorId, JSON.parse(x.event)])).toEqual([['p', { type: 'xstate.done.actor.c', output: { ok: true }, actorId: 'c' }]]);
  });

  it('holds a risky job and writes its approval, with the last journal entry as rationale, in the same commit', () => {
    const m = defineMachine({
      name: 'm',
      config: { initial: 'a', states: { a: { on: { go: 'pay' } }, pay: { invoke: { id: 'charge', src: 'charge', meta: { risk: 'medium' } } } } },
      schemas,
      activities: { charge: defineActivity({ run: async () => 1 }) },
    });
    const { commit, halts } = plan([m], 'm', [{ type: 'go' }], { ...noInputs, lastJournal: { model: 'x' } });
    expect(commit.jobs).toMatchObject([{ childId: 'charge', held: true }]);
    expect(commit.approvals).toHaveLength(1);
    expect(JSON.parse(commit.approvals![0]!.rationale).lastJournal).toEqual({ model: 'x' });
    expect(halts).toBe(false);
  });

  it('writes the failure, and nothing the step planned, when the transition failed', () => {
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: {} } }, schemas });
    const registry = new MachineRegistry();
    registry.register(m);
    const version = registry.machine('m');
    const result: StepResult = { ok: false, error: new Error('boom') };
    const { commit } = planCommit(record({ seq: 1, snapshot: '{"s":1}', stateValue: '"a"' }), { id: 1, json: '{"type":"go"}', event: { type: 'go' } }, result, noInputs, { version, machine: (n) => registry.machine(n), hostId: 'h', now: NOW, durationUs: 1 });
    expect(commit).toMatchObject({ status: 'error', snapshot: '{"s":1}', jobs: [], spawn: [], cancelJobs: [], stop: [] });
    expect(commit.error).toContain("boom (while applying 'go' in state \"a\")");
  });

  it('returns a frozen plan that nothing can change after planning', () => {
    const m = defineMachine({ name: 'm', config: { initial: 'a', context: {}, states: { a: { on: { go: { actions: 'set' } } } } }, schemas, actions: { set: assign({ n: 1 }) } });
    const planned = plan([m], 'm', [{ type: 'go' }]);
    expect(Object.isFrozen(planned.commit)).toBe(true);
    expect(Object.isFrozen(planned.commit.messages)).toBe(true);
    expect(() => (planned.commit.messages as unknown[]).push({})).toThrow();
  });

  it('plans machines written in code the same way (a send to the durable parent from sendParent)', () => {
    const child = setup({}).createMachine({ entry: ({ self }) => void self, on: { ping: { actions: sendTo(({ self }) => self._parent!, { type: 'pong' }) } } });
    const { commit } = plan([defineMachine({ name: 'm', machine: child })], 'm', [{ type: 'ping' }], { ...noInputs, machineOf: new Map([['p', 'm']]) }, { id: 'p/c', parentId: 'p', childKey: 'c' });
    expect(commit.messages.map((x) => [x.actorId, x.type])).toEqual([['p', 'pong']]);
  });

  describe('the rules a store used to hold, as explicit rows', () => {
    const kid = defineMachine({ name: 'kid', config: { initial: 'a', states: { a: {} } }, schemas });
    /** A parent whose state `a` invokes the durable child `c`; `go` leaves it (stopping `c`), `end` finishes. */
    const parent = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { invoke: { id: 'c', src: 'kid' }, on: { go: 'b', end: 'done' } }, b: {}, done: { type: 'final' } } }, schemas });
    // r1 -> r1/c -> r1/c/g -> r1/c/g/h (and r1/c/g2 beside g), each with the seq the plan read.
    const tree = new Map([
      ['r1/c', { parentId: 'r1', seq: 3 }],
      ['r1/c/g', { parentId: 'r1/c', seq: 2 }],
      ['r1/c/g2', { parentId: 'r1/c', seq: 1 }],
      ['r1/c/g/h', { parentId: 'r1/c/g', seq: 0 }],
    ]);

    it('stops a 3-level tree under a stopped child, parents first, each fenced by the seq read and with its open jobs cancelled', () => {
      const openWork = new Map([work('r1/c/g', { jobs: [{ key: 'r1/c/g:2:0', childId: 'fetch', status: 'running' }, { key: 'r1/c/g:1:0', childId: 'fetch', status: 'pending' }] })]);
      const { commit } = plan([parent, kid], 'm', [{ type: 'go' }], { ...noInputs, children: new Map([['c', 'r1/c']]), descendants: tree, openWork });
      expect(commit.stop).toEqual([
        { id: 'r1/c', expectedSeq: 3, cancelJobs: [] },
        { id: 'r1/c/g', expectedSeq: 2, cancelJobs: ['fetch'] },
        { id: 'r1/c/g/h', expectedSeq: 0, cancelJobs: [] },
        { id: 'r1/c/g2', expectedSeq: 1, cancelJobs: [] },
      ]);
      expect(commit.status).toBe('active');
      expect(commit.cancelJobs).toEqual([]);
    });

    it('refuses to plan a stop of a child whose subtree was not read, rather than miss part of it', () => {
      expect(() => plan([parent, kid], 'm', [{ type: 'go' }], { ...noInputs, children: new Map([['c', 'r1/c']]) })).toThrow(/stops actor 'r1\/c', whose subtree was not read/);
    });

    it('cancels the pending approvals of a left activity and of every stopped actor, each with its approval.cancelled audit row', () => {
      const m = defineMachine({
        name: 'm',
        config: { initial: 'pay', states: { pay: { invoke: [{ id: 'charge', src: 'charge' }, { id: 'c', src: 'kid' }], on: { cancel: 'idle' } }, idle: {} } },
        schemas,
        activities: { charge: defineActivity({ run: async () => 1 }), notify: defineActivity({ run: async () => 1 }) },
      });
      const openWork = new Map([
        work('r1', { jobs: [{ key: 'r1:1:0', childId: 'charge', status: 'held' }, { key: 'r1:1:1', childId: 'notify', status: 'held' }], approvals: [pendingApproval('r1', 'charge'), { ...pendingApproval('r1', 'notify'), id: 'approval:r1:1:1', jobKey: 'r1:1:1' }] }),
        work('r1/c/g', { jobs: [{ key: 'r1/c/g:1:0', childId: 'send', status: 'held' }], approvals: [pendingApproval('r1/c/g', 'send')] }),
      ]);
      const { commit } = plan([m, kid], 'm', [{ type: 'cancel' }], { ...noInputs, children: new Map([['c', 'r1/c']]), descendants: tree, openWork });
      expect(commit.cancelJobs).toEqual(['charge']);
      // The approval of `notify`, an invoke this step did not leave, stays pending.
      expect(commit.cancelApprovals).toEqual(['approval:r1:1:0', 'approval:r1/c/g:1:0']);
      expect(commit.audit).toEqual([
        { at: NOW, runId: 'r1', actorId: 'r1', kind: 'approval.cancelled', who: 'system', subject: 'approval:r1:1:0', detail: expect.any(String) },
        { at: NOW, runId: 'r1', actorId: 'r1/c/g', kind: 'approval.cancelled', who: 'system', subject: 'approval:r1/c/g:1:0', detail: expect.any(String) },
      ]);
      expect(JSON.parse(commit.audit![1]!.detail)).toEqual({ src: 'send', jobKey: 'r1/c/g:1:0', reason: 'the work was cancelled before anyone decided (its state was left or its actor stopped)' });
      expect(commit.stop.find((s) => s.id === 'r1/c/g')).toEqual({ id: 'r1/c/g', expectedSeq: 2, cancelJobs: ['send'] });
    });

    it("turns a finishing actor's cancel-all into explicit rows: every open job, pending approval and stored delayed send it read, every child's tree", () => {
      const openWork = new Map([
        work('r1', { jobs: [{ key: 'r1:1:0', childId: 'x', status: 'running' }, { key: 'r1:2:0', childId: 'y', status: 'held' }], approvals: [pendingApproval('r1', 'y', 2)], timers: ['t1', 'xstate.after.500.m.a'] }),
        ...[...tree.keys()].map((id) => work(id)),
      ]);
      const { commit } = plan([parent, kid], 'm', [{ type: 'end' }], { ...noInputs, children: new Map([['c', 'r1/c']]), descendants: tree, openWork });
      expect(commit.status).toBe('done');
      expect(commit.cancelJobs).toEqual(['x', 'y']);
      expect(commit.cancelTimers).toEqual(['t1', 'xstate.after.500.m.a']);
      expect(commit.cancelApprovals).toEqual(['approval:r1:2:0']);
      expect(commit.audit!.map((a) => [a.kind, a.subject])).toEqual([['approval.cancelled', 'approval:r1:2:0']]);
      expect(commit.stop.map((s) => [s.id, s.expectedSeq])).toEqual([
        ['r1/c', 3],
        ['r1/c/g', 2],
        ['r1/c/g/h', 0],
        ['r1/c/g2', 1],
      ]);
      expect(JSON.stringify(commit)).not.toMatch(/"\*"/);
    });

    it('cancels every stored delayed send of an actor whose step fails, and keeps none it planned', () => {
      const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: {} } }, schemas });
      const registry = new MachineRegistry();
      registry.register(m);
      const version = registry.machine('m');
      const inputs = { ...noInputs, openWork: new Map([work('r1', { timers: ['later'] })]) };
      const { commit } = planCommit(record({ seq: 1, snapshot: '{}', stateValue: '"a"' }), { id: 1, json: '{"type":"go"}', event: { type: 'go' } }, { ok: false, error: new Error('boom') }, inputs, { version, machine: (n) => registry.machine(n), hostId: 'h', now: NOW, durationUs: 1 });
      expect(commit.cancelTimers).toEqual(['later']);
    });

    it('stops a stored child and respawns the same child id in one step under a fresh actor id', () => {
      const m = defineMachine({
        name: 'm',
        config: { initial: 'a', states: { a: { on: { first: { actions: 'spawnC' }, go: { actions: ['stopC', 'spawnC'] } } } } },
        schemas,
        actions: { spawnC: spawnChild('kid', { id: 'c' }), stopC: stopChild('c') },
      });
      const inputs = { ...noInputs, children: new Map([['c', 'r1/c']]), descendants: new Map([['r1/c', { parentId: 'r1', seq: 1 }]]), takenIds: new Set(['r1/c']) };
      const { commit } = plan([m, kid], 'm', [{ type: 'first' }, { type: 'go' }], inputs);
      expect(commit.stop).toEqual([{ id: 'r1/c', expectedSeq: 1, cancelJobs: [] }]);
      expect(commit.spawn.map((s) => [s.id, s.childKey])).toEqual([['r1/c~3', 'c']]);
      expect(commit.messages.map((x) => [x.actorId, x.type])).toEqual([['r1/c~3', 'xstate.init']]);
    });
  });
});
