import { assign } from 'xstate';
import { z } from 'zod';
import { defineActivity, defineMachine, type MachineDefinition } from '../defineMachine.js';
import { promptHash } from '../stepProvenance.js';
import type { EffectLog } from './fixtures.js';

/** The input the `publish` activity takes; an edited proposal must fit it. */
export const publishInput = z.object({ title: z.string().min(1), channel: z.enum(['blog', 'news']) });

/**
 * A publisher agent: `publishing` invokes the `publish` activity with the risk
 * policy given as the state's `meta`; a rejection or expiry lands in `stopped`.
 * It also takes `note.added` events at any time (to show a halted run applies none).
 */
export function publisherMachine(log: EffectLog, meta: Record<string, unknown> | undefined, options: { name?: string } = {}): MachineDefinition {
  return defineMachine({
    name: options.name ?? 'publisher',
    config: {
      id: options.name ?? 'publisher',
      initial: 'publishing',
      on: { 'note.added': { actions: 'addNote' } },
      states: {
        publishing: {
          ...(meta ? { meta } : {}),
          invoke: {
            id: 'publish',
            src: 'publish',
            onDone: { target: 'published', actions: 'saveUrl' },
            onError: { target: 'stopped', actions: 'saveError' },
          },
          on: { 'spine.approval.escalated': { actions: 'markEscalated' } },
        },
        published: { type: 'final' },
        stopped: { type: 'final' },
      },
    },
    schemas: {
      input: z.object({ title: z.string() }),
      events: { 'note.added': z.object({ text: z.string() }) },
    },
    context: (input: { title: string }) => ({
      title: input.title,
      reasoning: 'The draft cites three verified sources; publishing it answers the request.',
      url: null,
      error: null,
      escalated: false,
      notes: [],
    }),
    actions: {
      saveUrl: assign({ url: ({ event }: any) => event.output.url }),
      saveError: assign({ error: ({ event }: any) => ({ kind: event.error.kind ?? null, message: event.error.message, details: event.error.details ?? null }) }),
      markEscalated: assign({ escalated: () => true }),
      addNote: assign({ notes: ({ context, event }: any) => [...context.notes, event.text] }),
    },
    output: ({ context }: any) => ({ url: context.url, error: context.error, escalated: context.escalated, notes: context.notes }),
    activities: {
      publish: defineActivity({
        input: publishInput,
        mapInput: ({ context }) => ({ title: context.title, channel: 'blog' as const }),
        async run(input, ctx) {
          log.record(ctx.key);
          ctx.record({ agent: 'publisher', provider: 'scripted', model: 'writer-1', promptVersion: promptHash('Publish {title} to {channel}.'), usage: { inputTokens: 12, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 }, costUsd: 0.0001 });
          return { url: `https://example.test/${input.channel}/${encodeURIComponent(input.title)}` };
        },
      }),
    },
  });
}
