import { defineActivity, TerminalError, type MachineImplementation } from '@spine/runtime';
import { z } from 'zod';

const implementation: MachineImplementation = {
  schemas: { input: z.object({ fail: z.boolean().default(false) }).default({ fail: false }) },
  context: (input: { fail: boolean }) => ({ fail: input.fail }),
  output: () => ({ ok: true }),
  activities: {
    work: defineActivity({
      mapInput: ({ context }) => ({ fail: context.fail }),
      async run(input: { fail: boolean }) {
        if (input.fail) throw new TerminalError('the work refused to happen (asked to fail)');
        return 'worked';
      },
    }),
  },
};
export default implementation;
