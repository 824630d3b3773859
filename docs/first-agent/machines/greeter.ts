import { createLlmEnvironment, modelActivity, type ModelStep } from '@spine/llm';
import type { MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

const context = z.object({ name: z.string(), greeting: z.string().nullable(), error: z.string().nullable() });
type Context = z.infer<typeof context>;

const llm = createLlmEnvironment(); // the provider comes from OPENAI_BASE_URL / ANTHROPIC_API_KEY

export default {
  schemas: {
    input: z.object({ name: z.string().min(1) }),
    context,
  },
  context: (input: { name: string }): Context => ({ name: input.name, greeting: null, error: null }),
  activities: {
    // One model call, run only after the step that entered `writing` is committed, and never twice.
    writeGreeting: modelActivity({
      agent: 'greeter',
      llm,
      model: 'gpt-4o-mini',
      request: ({ context }) => ({
        system: 'You write one friendly line.',
        messages: [{ role: 'user', content: `Greet ${context.name}.` }],
        budget: { agent: { maxUsd: 0.05 } },
      }),
    }),
  },
  actions: {
    saveGreeting: assign(({ event }: { event: { output: ModelStep } }) => ({ greeting: event.output.text })),
    saveError: assign(({ event }: { event: { error: unknown } }) => ({ error: String((event.error as Error)?.message ?? event.error) })),
  },
  output: ({ context }: { context: Context }) => ({ greeting: context.greeting, error: context.error }),
} satisfies MachineImplementation;
