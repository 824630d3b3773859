import type { MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

/**
 * End-to-end fixture: advances on durable timers every 300 ms (tick1 … tick5),
 * waits for `ticker.resume` from outside, wraps up after one more tick and finishes.
 */
const ticker: MachineImplementation = {
  schemas: {
    input: z.object({ label: z.string() }).optional(),
    events: {
      'ticker.poke': z.object({}),
      'ticker.resume': z.object({ note: z.string().min(1) }),
    },
  },
  context: (input?: { label: string }) => ({ label: input?.label ?? 'tick', pokes: 0, note: null }),
  actions: {
    countPoke: assign({ pokes: ({ context }: any) => context.pokes + 1 }),
    saveNote: assign({ note: ({ event }: any) => event.note }),
  },
  output: ({ context }: any) => ({ pokes: context.pokes, note: context.note }),
};

export default ticker;
