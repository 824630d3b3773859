import { describe, expect, it } from 'vitest';
import { assign, sendTo, setup, spawnChild, stopChild, type AnyMachineSnapshot, type EventObject } from 'xstate';
import { z } from 'zod';
import { defineActivity, defineMachine, sendToActor, type MachineDefinition } from '../defineMachine.js';
import { MachineRegistry } from '../MachineRegistry.js';
import type { ActorRecord } from '../Store.js';
import { hostInitialTransition, hostTransition } from '../xstateLogic.js';
import { planCommit, type StepInputs, type StepResult } from './planCommit.js';
import { planStep } from './planStep.js';

// planCommit is pure: these tests build its inputs by hand and never open a store.

const NOW = 1_000_000;
const noInputs: StepInputs = { children: new Map(), takenIds: new Set(), machineOf: new Map(), lastJournal: null };

function record(over: Partial<ActorRecord> = {}): ActorRecord {
  return { id: 'r1', runId: 'r1', parentId: null, childKey: null, machine: 'm', version: 'v', seq: 0, status: 'active', snapshot: null, stateValue: null, output: null, error: null, owner: 'h', createdAt: 0, updatedAt: 0, ...over };
}

/** Runs the machine's initial transition, then `events`, and plans the commit of the last one. */
function plan(definitions: MachineDefinition[], name: string, events: EventObject[], inputs: StepInputs = noInputs, actor: Partial<ActorRecord> = {}) {
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
  return planCommit(rec, { id: 7, json: JSON.stringify(event), event }, result, inputs, { version, machine: (n) => registry.machine(n), hostId: 'h', now: NOW, durationUs: 5 });
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

  it('tells the parent, cancels every job and stops every child when a child actor finishes', () => {
    const m = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: 'end' } }, end: { type: 'final' } } }, schemas, output: () => ({ ok: true }) });
    const { commit } = plan([m], 'm', [{ type: 'go' }], { ...noInputs, children: new Map([['k', 'p/c/k']]) }, { id: 'p/c', parentId: 'p', childKey: 'c' });
    expect(commit.status).toBe('done');
    expect(commit.cancelJobs).toEqual(['*']);
    expect(commit.stop).toEqual(['p/c/k']);
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
    expect(commit).toMatchObject({ status: 'error', snapshot: '{"s":1}', jobs: [], spawn: [], cancelJobs: ['*'] });
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
});
