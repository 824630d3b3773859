import { describe, expect, it } from 'vitest';
import type { MachineConfigJson } from './defineMachine.js';
import { machineNames } from './machineWalk.js';
import { validateMachineConfig, type ImplementationNames } from './validateMachineConfig.js';

const implementation: ImplementationNames = {
  actions: { save: true, notify: true },
  guards: { ready: true },
  delays: { patience: true },
  activities: { draft: true },
  schemas: { events: { 'draft.requested': {}, 'draft.cancelled': {} } },
};

const writer = (): MachineConfigJson => ({
  id: 'writer',
  initial: 'idle',
  states: {
    idle: { on: { 'draft.requested': { target: 'drafting', guard: 'ready', actions: 'save' } }, after: { patience: 'gaveUp' } },
    drafting: {
      meta: { risk: 'medium' },
      invoke: { id: 'model', src: 'draft', onDone: { target: 'done', actions: ['save', { type: 'notify', params: { to: 'me' } }] }, onError: 'gaveUp' },
    },
    done: { type: 'final' },
    gaveUp: { type: 'final' },
  },
});

const rules = (config: MachineConfigJson, strict = true) => validateMachineConfig(config, implementation, { strict }).map((i) => [i.rule, i.path, i.element]);

describe('validateMachineConfig', () => {
  it('accepts a machine whose every name is implemented, reachable and with a way out of each state', () => {
    expect(validateMachineConfig(writer(), implementation, { strict: true })).toEqual([]);
  });

  it('names the transition that references an unknown action', () => {
    const config = writer();
    (config.states as any).idle.on['draft.requested'].actions = 'publish';
    expect(rules(config)).toEqual([
      ['unknown_action', 'states.idle.on.draft.requested.actions', { state: ['idle'], transition: { source: 'on', key: 'draft.requested', index: 0 } }],
    ]);
  });

  it('names a state no transition leads to, and with strict, a state that is not final but has no way out', () => {
    const config = writer();
    (config.states as any).reviewing = {};
    const issues = validateMachineConfig(config, implementation, { strict: true });
    expect(issues.map((i) => [i.rule, i.element.state])).toEqual([
      ['unreachable', ['reviewing']],
      ['dead_end', ['reviewing']],
    ]);
    expect(issues[0]!.message).toContain("state 'reviewing' is unreachable");
    expect(validateMachineConfig(config, implementation).map((i) => i.rule)).toEqual(['unreachable']);
  });

  it('with strict, refuses events outside the schemas but accepts reserved and wildcard ones', () => {
    const config = writer();
    Object.assign((config.states as any).idle.on, { 'draft.typo': 'gaveUp', 'spine.delivery.refused': 'gaveUp', 'draft.*': 'gaveUp', 'other.*': 'gaveUp' });
    expect(rules(config).map(([rule, path]) => [rule, path])).toEqual([
      ['unknown_event', 'states.idle.on.draft.typo'],
      ['unknown_event', 'states.idle.on.other.*'],
    ]);
  });

  it('counts transitions on an ancestor as a way out, but not a self-loop or a targetless transition', () => {
    const config: MachineConfigJson = {
      id: 'm',
      initial: 'a',
      on: { 'draft.cancelled': '.stopped' },
      states: {
        a: { on: { 'draft.requested': { actions: 'save' } }, after: { 1000: 'b' } },
        b: { on: { 'draft.requested': 'b' } },
        stopped: { type: 'final' },
      },
    };
    expect(rules(config)).toEqual([]);
    delete config.on;
    expect(rules(config).map(([rule, path]) => [rule, path])).toEqual([
      ['unreachable', 'states.stopped'],
      ['dead_end', 'states.b'],
    ]);
  });

  it('reports bad targets, unknown guards, delays and activities, missing initial states, duplicate ids and bad risk tiers', () => {
    const config: MachineConfigJson = {
      id: 'm',
      initial: 'a',
      states: {
        a: { id: 'x', on: { 'draft.requested': { target: 'nowhere', guard: 'sure' } }, after: { soon: 'b' } },
        b: { id: 'x', meta: { risk: 'extreme' }, invoke: { src: 'publish' }, states: { c: {} }, after: { 10: 'a' } },
      },
    };
    expect(validateMachineConfig(config, implementation).map((i) => i.rule)).toEqual([
      'duplicate_id',
      'unknown_delay',
      'unknown_guard',
      'bad_target',
      'missing_initial',
      'bad_meta',
      'unknown_activity',
      'unreachable',
    ]);
  });

  it('resolves #id, .child and sibling targets like XState', () => {
    const config: MachineConfigJson = {
      id: 'm',
      initial: 'outer',
      states: {
        outer: {
          initial: 'one',
          on: { 'draft.cancelled': '.two' },
          states: { one: { on: { 'draft.requested': '#end' } }, two: { on: { 'draft.requested': 'one' } } },
        },
        end: { id: 'end', type: 'final' },
      },
    };
    expect(rules(config)).toEqual([]);
  });

  it('lists every name a structure refers to, for a machine without implementations yet', () => {
    expect(machineNames(writer())).toEqual({
      actions: ['save', 'notify'],
      guards: ['ready'],
      delays: ['patience'],
      activities: ['draft'],
      events: ['draft.requested'],
    });
  });
});
