import type { MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

const implementation: MachineImplementation = {
  schemas: {
    input: z.object({ name: z.string().min(1) }),
    events: { 'door.open': z.object({ by: z.string().min(1) }), 'door.close': z.object({}), 'door.lock': z.object({}) },
  },
  context: (input: { name: string }) => ({ name: input.name, openedBy: [] as string[] }),
  actions: { remember: assign({ openedBy: ({ context, event }: any) => [...context.openedBy, event.by] }) },
  output: ({ context }: any) => ({ name: context.name, openedBy: context.openedBy }),
};
export default implementation;
