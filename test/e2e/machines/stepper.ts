import type { MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

/** Benchmark fixture: one step per `stepper.step` event, carrying the sender's clock. */
const stepper: MachineImplementation = {
  schemas: {
    events: {
      'stepper.step': z.object({ n: z.number().int(), sentAt: z.number() }),
      'stepper.stop': z.object({}),
    },
  },
  context: () => ({ n: 0 }),
  actions: { count: assign({ n: ({ event }: any) => event.n }) },
};

export default stepper;
