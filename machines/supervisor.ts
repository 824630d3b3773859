import { ConfigError, splitBudget, toolActivity } from '@spine/llm';
import { defineActivity, sendToActor, TerminalError, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';
import {
  agentFailed,
  agentNames,
  budgetRaised,
  budgetSchema,
  draftReady,
  draftSchema,
  noteSchema,
  notesReady,
  runAbandoned,
  verdictGiven,
  verdictSchema,
  type Budget,
} from './events.js';
import { agentModels, resolveOptions, type PipelineOptions } from './options.js';
import { RUBRIC } from './prompts.js';

/** What a run of the pipeline is asked for. */
export const supervisorInput = z.object({
  topic: z.string().min(1),
  /** The whole run's budget, split among the agents (default 200 000 tokens and 1 USD). */
  budget: budgetSchema.optional(),
  /** What an exceeded budget does: stop the run, or wait in `needsHuman` for a person (default stop). */
  onBudgetExceeded: z.enum(['stop', 'escalate']).optional(),
  /** How many times a rejected draft goes back to the writer (default 2). */
  maxRevisions: z.number().int().min(0).max(5).optional(),
});
export type SupervisorInput = z.infer<typeof supervisorInput>;

export const DEFAULT_RUN_BUDGET: Budget = { maxTokens: 200_000, maxUsd: 1 };
/** How the run's budget is shared out. */
export const BUDGET_SHARES = { researcher: 3, writer: 4, verifier: 3 } as const;

const shares = z.object({ researcher: budgetSchema, writer: budgetSchema, verifier: budgetSchema });

export const supervisorContext = z.object({
  topic: z.string(),
  budget: budgetSchema,
  shares,
  onBudgetExceeded: z.enum(['stop', 'escalate']),
  maxRevisions: z.number().int(),
  provider: z.object({ id: z.string(), baseURL: z.string(), models: z.record(z.string(), z.string()) }).nullable(),
  stage: z.enum(['checking', 'researching', 'writing', 'verifying', 'publishing']),
  notes: z.array(noteSchema),
  draft: draftSchema.nullable(),
  verdict: verdictSchema.nullable(),
  feedback: z.array(z.string()),
  revisions: z.number().int(),
  publication: z.object({ location: z.string(), duplicate: z.boolean() }).nullable(),
  status: z.enum(['working', 'published', 'rejected', 'declined', 'failed', 'stopped', 'needs_human']),
  failure: z.object({ agent: z.string(), kind: z.string(), reason: z.string() }).nullable(),
});
type Context = z.infer<typeof supervisorContext>;

/** What a finished run returns. */
export const supervisorOutput = z.object({
  status: supervisorContext.shape.status,
  topic: z.string(),
  title: z.string().nullable(),
  location: z.string().nullable(),
  revisions: z.number().int(),
  verdict: verdictSchema.nullable(),
  provider: supervisorContext.shape.provider,
  reason: z.string().nullable(),
});

/**
 * The supervisor: checks the provider, hands the topic to the researcher, the notes to the
 * writer, the draft to the verifier (back to the writer when rejected, at most `maxRevisions`
 * times), then publishes. Every handoff is a typed event checked at the receiver's mailbox.
 */
export function supervisor(options: PipelineOptions = {}): MachineImplementation {
  const { llm, publish } = resolveOptions(options);
  return {
    schemas: {
      input: supervisorInput,
      context: supervisorContext,
      output: supervisorOutput,
      events: {
        'notes.ready': notesReady,
        'draft.ready': draftReady,
        'verdict.given': verdictGiven,
        'agent.failed': agentFailed,
        'budget.raised': budgetRaised,
        'run.abandoned': runAbandoned,
      },
    },
    context: (input: SupervisorInput): Context => {
      const budget = input.budget ?? DEFAULT_RUN_BUDGET;
      return {
        topic: input.topic,
        budget,
        shares: splitBudget(budget, BUDGET_SHARES),
        onBudgetExceeded: input.onBudgetExceeded ?? 'stop',
        maxRevisions: input.maxRevisions ?? 2,
        provider: null,
        stage: 'checking',
        notes: [],
        draft: null,
        verdict: null,
        feedback: [],
        revisions: 0,
        publication: null,
        status: 'working',
        failure: null,
      };
    },
    actions: {
      setStage: assign((_: unknown, params: { stage: Context['stage'] }) => ({ stage: params.stage })),
      saveProvider: assign({ provider: ({ event }: any) => event.output }),
      requestResearch: sendToActor('researcher', ({ context }) => ({
        type: 'research.requested',
        topic: context.topic,
        budget: context.shares.researcher,
        runBudget: context.budget,
      })),
      requestDraft: sendToActor('writer', ({ context }) => ({
        type: 'draft.requested',
        topic: context.topic,
        notes: context.notes,
        revision: context.revisions,
        feedback: context.feedback,
        previous: context.revisions > 0 ? context.draft : null,
        budget: context.shares.writer,
        runBudget: context.budget,
      })),
      requestVerdict: sendToActor('verifier', ({ context }) => ({
        type: 'verification.requested',
        topic: context.topic,
        notes: context.notes,
        draft: context.draft,
        revision: context.revisions,
        rubric: RUBRIC,
        budget: context.shares.verifier,
        runBudget: context.budget,
      })),
      saveNotes: assign({ notes: ({ event }: any) => event.notes }),
      saveDraft: assign({ draft: ({ event }: any) => event.draft }),
      saveVerdict: assign({ verdict: ({ event }: any) => event.verdict }),
      askRevision: assign(({ context, event }: { context: Context; event: any }) => ({
        revisions: context.revisions + 1,
        feedback: event.verdict.issues.length ? event.verdict.issues : ['The verifier rejected the draft without naming issues.'],
      })),
      savePublication: assign({ publication: ({ event }: any) => event.output, status: 'published' as const }),
      saveFailure: assign({ failure: ({ event }: any) => ({ agent: event.agent, kind: event.kind, reason: event.reason }) }),
      agentQuit: assign({
        failure: ({ event }: any) => {
          const agent = String(event.type).replace('xstate.done.actor.', '');
          return { agent, kind: 'agent_quit', reason: `The ${agent} ended without handing off its work.` };
        },
      }),
      agentCrashed: assign({
        failure: ({ event }: any) => ({ agent: String(event.type).replace('xstate.error.actor.', ''), kind: 'agent_error', reason: event.error?.message ?? 'unknown error' }),
      }),
      savePublishFailure: assign({
        failure: ({ event }: any) => ({ agent: 'supervisor', kind: event.error?.kind ?? 'tool_failed', reason: event.error?.message ?? 'publish failed' }),
      }),
      raiseBudget: assign(({ context, event }: { context: Context; event: any }) => {
        const budget = { ...context.budget, ...(event.maxTokens === undefined ? {} : { maxTokens: event.maxTokens }), ...(event.maxUsd === undefined ? {} : { maxUsd: event.maxUsd }) };
        return { budget, shares: splitBudget(budget, BUDGET_SHARES), failure: null, status: 'working' as const };
      }),
      saveAbandon: assign({ failure: ({ event }: any) => ({ agent: 'human', kind: 'abandoned', reason: event.reason }) }),
      markFailed: assign({ status: 'failed' as const }),
      markStopped: assign({ status: 'stopped' as const }),
      markDeclined: assign({ status: 'declined' as const }),
      markRejected: assign(({ context }: { context: Context }) => ({
        status: 'rejected' as const,
        failure: { agent: 'verifier', kind: 'rejected', reason: `The draft was rejected ${context.revisions + 1} times; the last issues: ${(context.verdict?.issues ?? []).join('; ') || 'none given'}` },
      })),
      markNeedsHuman: assign({ status: 'needs_human' as const }),
    },
    guards: {
      stopOnBudget: ({ context, event }: any) => event.kind === 'budget_exceeded' && context.onBudgetExceeded === 'stop',
      escalateOnBudget: ({ context, event }: any) => event.kind === 'budget_exceeded' && context.onBudgetExceeded === 'escalate',
      approved: ({ event }: any) => event.verdict.approved === true,
      declinedByPerson: ({ event }: any) => event.error?.kind === 'rejected' || event.error?.kind === 'expired',
      canRevise: ({ context }: { context: Context }) => context.revisions < context.maxRevisions,
      wasResearching: ({ context }: { context: Context }) => context.stage === 'researching',
      wasWriting: ({ context }: { context: Context }) => context.stage === 'writing',
    },
    activities: {
      checkProvider: defineActivity({
        async run(_input: unknown, ctx) {
          const env = llm();
          try {
            const models: Record<string, string> = {};
            let provider: { id: string; baseURL: string } | undefined;
            for (const agent of agentNames) {
              const resolved = env.provider(agent, agentModels[agent]);
              models[agent] = resolved.model;
              provider ??= { id: resolved.id, baseURL: resolved.baseURL };
            }
            ctx.record({ provider: provider!.id, models });
            return { ...provider!, models };
          } catch (error) {
            if (error instanceof ConfigError) throw new TerminalError(error.message, { kind: 'config' });
            throw error;
          }
        },
      }),
      publish: toolActivity(publish(), {
        agent: 'supervisor',
        llm,
        // The job's input is the tool's input: an approval checks an edited proposal against the tool's schema.
        mapInput: ({ context }: { context: Context }) => ({ topic: context.topic, title: context.draft?.title, body: context.draft?.body }),
      }),
    },
    output: ({ context }: { context: Context }) => ({
      status: context.status,
      topic: context.topic,
      title: context.draft?.title ?? null,
      location: context.publication?.location ?? null,
      revisions: context.revisions,
      verdict: context.verdict,
      provider: context.provider,
      reason: context.failure?.reason ?? null,
    }),
  };
}

export default supervisor();
