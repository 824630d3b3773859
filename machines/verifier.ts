import { modelActivity, type ModelStep } from '@spine/llm';
import { sendToParent, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';
import { budgetSchema, draftSchema, noteSchema, verdictSchema, verificationRequested, type Verdict } from './events.js';
import { agentModels, resolveOptions, type PipelineOptions } from './options.js';
import { VERIFIER_SYSTEM, verifierMessages } from './prompts.js';

export const verifierContext = z.object({
  topic: z.string(),
  notes: z.array(noteSchema),
  draft: draftSchema.nullable(),
  revision: z.number().int(),
  rubric: z.array(z.string()),
  budget: budgetSchema,
  runBudget: budgetSchema,
  verdict: verdictSchema.nullable(),
  error: z.object({ kind: z.string(), reason: z.string() }).nullable(),
});
type Context = z.infer<typeof verifierContext>;

/**
 * The verifier agent: one model call whose answer must match `verdictSchema` (sent as JSON Schema
 * in `response_format`); a wrong answer is re-asked with the failing fields, then the step fails
 * naming the field. Hands the verdict to the supervisor (`verdict.given`).
 */
export function verifier(options: PipelineOptions = {}): MachineImplementation {
  const { llm } = resolveOptions(options);
  return {
    schemas: {
      input: z.undefined().optional(),
      context: verifierContext,
      events: { 'verification.requested': verificationRequested },
    },
    context: (): Context => ({ topic: '', notes: [], draft: null, revision: 0, rubric: [], budget: {}, runBudget: {}, verdict: null, error: null }),
    actions: {
      startVerification: assign(({ event }: any) => ({
        topic: event.topic,
        notes: event.notes,
        draft: event.draft,
        revision: event.revision,
        rubric: event.rubric,
        budget: event.budget,
        runBudget: event.runBudget,
      })),
      saveVerdict: assign({ verdict: ({ event }: any) => (event.output as ModelStep<Verdict>).object ?? null }),
      saveError: assign({ error: ({ event }: any) => ({ kind: event.error?.kind ?? 'error', reason: event.error?.message ?? 'unknown error' }) }),
      saveRefusal: assign({ error: ({ event }: any) => ({ kind: 'handoff_refused', reason: event.reason }) }),
      handOffVerdict: sendToParent(({ context }) => ({ type: 'verdict.given', verdict: context.verdict })),
      reportFailure: sendToParent(({ context }) => ({ type: 'agent.failed', agent: 'verifier', kind: context.error.kind, reason: context.error.reason })),
    },
    activities: {
      judge: modelActivity({
        agent: 'verifier',
        llm,
        model: agentModels.verifier,
        mapInput: ({ context }: { context: Context }) => ({
          messages: verifierMessages({ ...context, draft: context.draft! }),
          budget: context.budget,
          runBudget: context.runBudget,
        }),
        request: ({ input }) => ({
          system: VERIFIER_SYSTEM,
          messages: input.messages,
          schema: verdictSchema,
          schemaName: 'verdict',
          maxOutputTokens: 400,
          budget: { agent: input.budget, run: input.runBudget },
        }),
      }),
    },
  };
}

export default verifier();
