import { modelActivity, type ModelStep } from '@spine/llm';
import { sendToParent, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';
import { budgetSchema, draftRequested, draftSchema, noteSchema, type Draft } from './events.js';
import { agentModels, resolveOptions, type PipelineOptions } from './options.js';
import { WRITER_SYSTEM, writerMessages } from './prompts.js';

export const writerContext = z.object({
  topic: z.string(),
  notes: z.array(noteSchema),
  revision: z.number().int(),
  feedback: z.array(z.string()),
  previous: draftSchema.nullable(),
  budget: budgetSchema,
  runBudget: budgetSchema,
  draft: draftSchema.nullable(),
  error: z.object({ kind: z.string(), reason: z.string() }).nullable(),
});
type Context = z.infer<typeof writerContext>;

/** The writer agent: one structured model call turns the notes (and any feedback) into a draft (`draft.ready`). */
export function writer(options: PipelineOptions = {}): MachineImplementation {
  const { llm } = resolveOptions(options);
  return {
    schemas: {
      input: z.undefined().optional(),
      context: writerContext,
      events: { 'draft.requested': draftRequested },
    },
    context: (): Context => ({ topic: '', notes: [], revision: 0, feedback: [], previous: null, budget: {}, runBudget: {}, draft: null, error: null }),
    actions: {
      startDraft: assign(({ event }: any) => ({
        topic: event.topic,
        notes: event.notes,
        revision: event.revision,
        feedback: event.feedback,
        previous: event.previous,
        budget: event.budget,
        runBudget: event.runBudget,
      })),
      saveDraft: assign({ draft: ({ event }: any) => (event.output as ModelStep<Draft>).object ?? null }),
      saveError: assign({ error: ({ event }: any) => ({ kind: event.error?.kind ?? 'error', reason: event.error?.message ?? 'unknown error' }) }),
      saveRefusal: assign({ error: ({ event }: any) => ({ kind: 'handoff_refused', reason: event.reason }) }),
      handOffDraft: sendToParent(({ context }) => ({ type: 'draft.ready', draft: context.draft })),
      reportFailure: sendToParent(({ context }) => ({ type: 'agent.failed', agent: 'writer', kind: context.error.kind, reason: context.error.reason })),
    },
    activities: {
      draft: modelActivity({
        agent: 'writer',
        llm,
        model: agentModels.writer,
        mapInput: ({ context }: { context: Context }) => ({
          messages: writerMessages(context),
          budget: context.budget,
          runBudget: context.runBudget,
        }),
        request: ({ input }) => ({
          system: WRITER_SYSTEM,
          messages: input.messages,
          schema: draftSchema,
          schemaName: 'draft',
          maxOutputTokens: 1000,
          budget: { agent: input.budget, run: input.runBudget },
        }),
      }),
    },
  };
}

export default writer();
