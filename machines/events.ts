import { z } from 'zod';

// The pipeline's handoffs. Each is checked by the runtime against the RECEIVING machine's
// `schemas.events` before it enters that machine's mailbox; a refused handoff never arrives,
// is dead-lettered with the failing field named, and comes back to the sender as
// `spine.delivery.refused`.

/** A spending limit in tokens and/or US dollars; absent fields are no limit. */
export const budgetSchema = z.object({
  maxTokens: z.number().int().positive().optional(),
  maxUsd: z.number().positive().optional(),
});
export type Budget = z.infer<typeof budgetSchema>;

/** One research note: where it came from and what it says. */
export const noteSchema = z.object({ source: z.string().min(1), text: z.string().min(1) });
export type Note = z.infer<typeof noteSchema>;

/** A draft report. */
export const draftSchema = z.object({ title: z.string().min(1), body: z.string().min(1) });
export type Draft = z.infer<typeof draftSchema>;

/** The verifier's structured verdict against the rubric (also the JSON Schema of its model answer). */
export const verdictSchema = z.object({
  approved: z.boolean(),
  score: z.number().int().min(0).max(10),
  issues: z.array(z.string()),
});
export type Verdict = z.infer<typeof verdictSchema>;

/** The agents the supervisor hands work to. */
export const agentNames = ['researcher', 'writer', 'verifier'] as const;
export type AgentName = (typeof agentNames)[number];

const topic = z.string().min(1);
const budgets = { budget: budgetSchema, runBudget: budgetSchema };

/** supervisor -> researcher */
export const researchRequested = z.object({ topic, ...budgets });
/** researcher -> supervisor: research without notes is refused here, at the supervisor's mailbox. */
export const notesReady = z.object({ notes: z.array(noteSchema).min(1, 'the research found no notes; a report needs at least one') });
/** supervisor -> writer; `feedback` and `previous` carry a rejected draft back for revision. */
export const draftRequested = z.object({
  topic,
  notes: z.array(noteSchema).min(1),
  revision: z.number().int().min(0),
  feedback: z.array(z.string()),
  previous: draftSchema.nullable(),
  ...budgets,
});
/** writer -> supervisor */
export const draftReady = z.object({ draft: draftSchema });
/** supervisor -> verifier */
export const verificationRequested = z.object({
  topic,
  notes: z.array(noteSchema).min(1),
  draft: draftSchema,
  revision: z.number().int().min(0),
  rubric: z.array(z.string().min(1)).min(1),
  ...budgets,
});
/** verifier -> supervisor */
export const verdictGiven = z.object({ verdict: verdictSchema });
/** any agent -> supervisor: the agent cannot finish; `kind` is the failure kind (`budget_exceeded`, `malformed_output`, ...). */
export const agentFailed = z.object({ agent: z.enum(agentNames), kind: z.string().min(1), reason: z.string().min(1) });
/** a person -> supervisor waiting in `needsHuman`: a new run budget (the agents' shares are split again). */
export const budgetRaised = budgetSchema.refine((b) => b.maxTokens !== undefined || b.maxUsd !== undefined, {
  message: 'give maxTokens or maxUsd',
});
/** a person -> supervisor waiting in `needsHuman`: stop the run. */
export const runAbandoned = z.object({ reason: z.string().min(1) });
