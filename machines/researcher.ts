import { chatMessageSchema, grantTools, modelActivity, toolCallActivity, type ModelStep, type ToolRegistry, type ToolStep } from '@spine/llm';
import { sendToParent, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';
import { budgetSchema, noteSchema, researchRequested, type Note } from './events.js';
import { agentModels, resolveOptions, type PipelineOptions } from './options.js';
import { MAX_TOOL_TURNS, RESEARCHER_SYSTEM, researchRequest } from './prompts.js';

/** The researcher's structured answer. Empty notes are allowed here; the supervisor refuses them. */
export const researchAnswer = z.object({ notes: z.array(noteSchema) });

const toolCall = z.object({ id: z.string(), name: z.string(), input: z.unknown() });

export const researcherContext = z.object({
  topic: z.string(),
  budget: budgetSchema,
  runBudget: budgetSchema,
  messages: z.array(chatMessageSchema),
  /** Tool calls of the last model turn not yet run. */
  pending: z.array(toolCall),
  /** Tools that kept failing: not offered again in this run. */
  disabledTools: z.array(z.string()),
  toolTurns: z.number().int(),
  notes: z.array(noteSchema),
  error: z.object({ kind: z.string(), reason: z.string() }).nullable(),
});
type Context = z.infer<typeof researcherContext>;

/** The tools the researcher may use (least privilege): anything else it calls is refused and recorded. */
export const RESEARCHER_TOOLS = ['search'];

/**
 * The researcher agent: asks the model what to search, runs each tool call as its own activity,
 * feeds the results back, and hands the notes it answers with to the supervisor (`notes.ready`).
 */
export function researcher(options: PipelineOptions = {}): MachineImplementation {
  const { llm, search, publish } = resolveOptions(options);
  let granted: ToolRegistry | undefined;
  // Everything the pipeline knows is listed, so a model asking for `publish` is refused, not unknown.
  const tools = () => (granted ??= grantTools([search(), publish()], RESEARCHER_TOOLS, { agent: 'researcher' }));

  return {
    schemas: {
      input: z.undefined().optional(),
      context: researcherContext,
      events: { 'research.requested': researchRequested },
    },
    context: (): Context => ({
      topic: '',
      budget: {},
      runBudget: {},
      messages: [],
      pending: [],
      disabledTools: [],
      toolTurns: 0,
      notes: [],
      error: null,
    }),
    actions: {
      startResearch: assign(({ event }: any) => ({
        topic: event.topic,
        budget: event.budget,
        runBudget: event.runBudget,
        messages: [researchRequest(event.topic)],
      })),
      saveToolCalls: assign(({ context, event }: { context: Context; event: any }) => {
        const step = event.output as ModelStep;
        return {
          messages: [...(step.shrunkMessages ?? context.messages), { role: 'assistant' as const, content: step.text, toolCalls: step.toolCalls }],
          pending: step.toolCalls,
          toolTurns: context.toolTurns + 1,
        };
      }),
      saveToolResult: assign(({ context, event }: { context: Context; event: any }) => {
        const result = event.output as ToolStep;
        return {
          messages: [
            ...context.messages,
            { role: 'tool' as const, toolCallId: result.callId, toolName: result.tool, content: result.content, isError: result.isError },
          ],
          pending: context.pending.slice(1),
          disabledTools: result.status === 'disabled' ? [...context.disabledTools, result.tool] : context.disabledTools,
        };
      }),
      saveNotes: assign({ notes: ({ event }: any) => ((event.output as ModelStep<{ notes: Note[] }>).object?.notes ?? []) }),
      saveError: assign({ error: ({ event }: any) => ({ kind: event.error?.kind ?? 'error', reason: event.error?.message ?? 'unknown error' }) }),
      saveRefusal: assign({ error: ({ event }: any) => ({ kind: 'handoff_refused', reason: event.reason }) }),
      handOffNotes: sendToParent(({ context }) => ({ type: 'notes.ready', notes: context.notes })),
      reportFailure: sendToParent(({ context }) => ({ type: 'agent.failed', agent: 'researcher', kind: context.error.kind, reason: context.error.reason })),
    },
    guards: {
      wantsTools: ({ context, event }: { context: Context; event: any }) =>
        (event.output as ModelStep).toolCalls.length > 0 && context.toolTurns < MAX_TOOL_TURNS,
      moreToolCalls: ({ context }: { context: Context }) => context.pending.length > 1,
    },
    activities: {
      think: modelActivity({
        agent: 'researcher',
        llm,
        model: agentModels.researcher,
        mapInput: ({ context }: { context: Context }) => ({
          messages: context.messages,
          offerTools: context.toolTurns < MAX_TOOL_TURNS,
          disabledTools: context.disabledTools,
          budget: context.budget,
          runBudget: context.runBudget,
        }),
        request: ({ input }) => ({
          system: RESEARCHER_SYSTEM,
          messages: input.messages,
          tools: input.offerTools ? tools().list().filter((t) => !input.disabledTools.includes(t.name)) : [],
          schema: researchAnswer,
          schemaName: 'research_notes',
          maxOutputTokens: 800,
          budget: { agent: input.budget, run: input.runBudget },
        }),
      }),
      useTool: toolCallActivity({
        agent: 'researcher',
        llm,
        tools,
        mapInput: ({ context }: { context: Context }) => ({ call: context.pending[0], disabled: context.disabledTools }),
        call: ({ input }) => input,
      }),
    },
  };
}

export default researcher();
