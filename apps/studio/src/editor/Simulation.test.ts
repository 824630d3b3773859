import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Simulation } from './Simulation.js';

const writer = JSON.parse(readFileSync(new URL('../../../../machines/writer.machine.json', import.meta.url), 'utf8')) as unknown;

describe('Simulation', () => {
  it('steps a machine through events with no effect: the state, the events it accepts and the actions it would take', () => {
    const sim = new Simulation(writer, { context: { notes: [] } });
    expect(sim.current).toMatchObject({ value: 'idle', next: ['draft.requested'], actions: [] });
    const step = sim.send({ type: 'draft.requested', topic: 'x' });
    expect(step).toMatchObject({ value: 'drafting', actions: ['startDraft', 'start actor draft as model'], next: ['xstate.done.actor.model', 'xstate.error.actor.model'] });
    expect(sim.send({ type: 'xstate.done.actor.model', output: {} })).toMatchObject({ value: 'reporting', actions: ['stop actor model', 'saveDraft', 'handOffDraft'] });
    expect(sim.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'draft.requested', 'xstate.done.actor.model']);
    expect(sim.current.context).toEqual({ notes: [] });
  });

  it('answers guards as the person sets them', () => {
    const config = { id: 'g', initial: 'a', states: { a: { on: { go: [{ target: 'b', guard: 'ready' }, { target: 'c' }] } }, b: {}, c: {} } };
    const sim = new Simulation(config);
    sim.guards.ready = false;
    expect(sim.send({ type: 'go' }).value).toBe('c');
    const again = new Simulation(config);
    expect(again.send({ type: 'go' }).value).toBe('b');
  });
});
