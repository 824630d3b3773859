import { defineMachine, type MachineConfigJson } from '@spine/runtime';
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
