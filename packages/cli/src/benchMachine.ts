import { defineActivity, defineMachine, type MachineConfigJson } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

/** A 20-state ring: each `tick` moves to the next state and counts. */
export function benchMachine(states = 20) {
  const config: MachineConfigJson = { id: 'ring', initial: 's0', states: {} };
  for (let i = 0; i < states; i++) {
    config.states![`s${i}`] = { on: { tick: { target: `s${(i + 1) % states}`, actions: 'count' }, stop: 'done' }, tags: [`t${i % 3}`] };
  }
  config.states!.done = { type: 'final' };
  return defineMachine({
    name: 'ring',
    config,
    schemas: { events: { tick: z.object({ n: z.number().optional() }), stop: z.object({}) }, context: z.object({ count: z.number(), label: z.string() }) },
    context: () => ({ count: 0, label: 'benchmark actor with a little context to persist' }),
    actions: { count: assign({ count: ({ context }: any) => context.count + 1 }) },
  });
}

/**
 * The activity workflow: `steps` states in a row, each invoking the `work` activity and moving on
 * when its result is applied, so every step is an activity whose result is persisted before the
 * next starts (the workload of a durable agent pipeline, without the model).
 */
export function activityChain(steps = 20) {
  const config: MachineConfigJson = { id: 'chain', initial: 's0', states: {} };
  for (let i = 0; i < steps; i++) {
    config.states![`s${i}`] = { invoke: { id: `w${i}`, src: 'work', onDone: { target: i + 1 < steps ? `s${i + 1}` : 'done', actions: 'count' } } };
  }
  config.states!.done = { type: 'final' };
  return defineMachine({
    name: 'chain',
    config,
    schemas: { events: {}, context: z.object({ count: z.number() }) },
    context: () => ({ count: 0 }),
    actions: { count: assign({ count: ({ context }: any) => context.count + 1 }) },
    activities: { work: defineActivity({ run: async () => ({ ok: true }) }) },
  });
}
