import { defineActivity, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

/**
 * End-to-end fixture: a supervisor that plans through an activity (which
 * journals model usage and cost, as a model call would, without calling one),
 * then delegates to a `ticker` child agent and waits for it.
 */
const crew: MachineImplementation = {
  schemas: { input: z.undefined().optional() },
  context: () => ({ plan: null, result: null }),
  actions: {
    savePlan: assign({ plan: ({ event }: any) => event.output }),
    saveResult: assign({ result: ({ event }: any) => event.output }),
  },
  activities: {
    plan: defineActivity({
      input: z.object({ goal: z.string() }),
      async run(input: { goal: string }, ctx) {
        ctx.record({ model: 'scripted-mini', usage: { inputTokens: 420, outputTokens: 80 }, costUsd: 0.0021 });
        return { goal: input.goal, steps: 5 };
      },
    }),
  },
  output: ({ context }: any) => ({ plan: context.plan, result: context.result }),
};

export default crew;
