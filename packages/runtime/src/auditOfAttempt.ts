import { canonicalJson } from './canonicalJson.js';
import type { JobRecord, NewAuditEntry, RiskTier } from './Store.js';

/**
 * The audit rows an activity attempt calls for, read from the facts it journaled:
 *
 * - a refused tool call: `decision: 'refused'` with `refused: { tool }` (the
 *   `@spine/llm` ledger), `refusedTool` (a name, a list, or `{ tool, agent }`), a
 *   `toolCalls` record with outcome `not_allowed`, or an error named `ToolNotAllowedError`;
 * - a budget stop: `decision: 'budget_exceeded'` or an error named `BudgetExceededError`;
 * - a model call with no price: `unpriced: { model }` (its cost is unknown; a dollar budget refuses it);
 * - a tiered activity that acted (`low` acts and logs; approved ones log too).
 */
export function auditOfAttempt(args: { job: Pick<JobRecord, 'key' | 'runId' | 'actorId' | 'src'>; machine: string; tier: RiskTier | undefined; entry: Record<string, unknown>; outcome: string; now: number }): NewAuditEntry[] {
  const { job, entry, now } = args;
  // Most attempts journal none of the facts below and run untiered work: nothing to audit.
  if (!args.tier && entry.error === undefined && entry.decision === undefined && entry.refusedTool === undefined && entry.refusedTools === undefined && entry.toolCalls === undefined && entry.unpriced === undefined) return [];
  const agent = typeof entry.agent === 'string' ? entry.agent : args.machine;
  const who = `agent:${agent}`;
  const rows: NewAuditEntry[] = [];
  const row = (kind: NewAuditEntry['kind'], detail: Record<string, unknown>): NewAuditEntry => ({ at: now, runId: job.runId, actorId: job.actorId, kind, who, subject: job.key, detail: canonicalJson(detail) });

  const error = entry.error && typeof entry.error === 'object' ? (entry.error as Record<string, unknown>) : undefined;
  const refused = new Set<string>();
  const addRefused = (value: unknown) => {
    if (typeof value === 'string') refused.add(value);
    else if (Array.isArray(value)) value.forEach(addRefused);
    else if (value && typeof value === 'object' && typeof (value as { tool?: unknown }).tool === 'string') refused.add((value as { tool: string }).tool);
  };
  addRefused(entry.refusedTool);
  addRefused(entry.refusedTools);
  if (entry.decision === 'refused') addRefused(entry.refused ?? entry.tool); // @spine/llm's ledger: { decision: 'refused', refused: { tool, agent, allowed } }
  if (Array.isArray(entry.toolCalls)) for (const call of entry.toolCalls as { tool?: unknown; outcome?: unknown }[]) if (call?.outcome === 'not_allowed') addRefused(call.tool);
  if (error && (error.name === 'ToolNotAllowedError' || error.code === 'tool_not_allowed')) {
    const tool = typeof error.tool === 'string' ? error.tool : /tool "([^"]+)"/.exec(String(error.message ?? ''))?.[1];
    addRefused(tool ?? '(unknown tool)');
  }
  for (const tool of refused) rows.push(row('tool.refused', { tool, agent, src: job.src, attempt: entry.attempt ?? null, message: error?.message ?? null }));

  if (entry.decision === 'budget_exceeded' || (error && (error.name === 'BudgetExceededError' || error.code === 'budget_exceeded'))) {
    rows.push(row('budget.stopped', { agent, src: job.src, message: error?.message ?? entry.message ?? null, budget: entry.budget ?? null, spent: entry.spent ?? null }));
  }

  const unpriced = entry.unpriced && typeof entry.unpriced === 'object' ? (entry.unpriced as { model?: unknown }).model : undefined;
  if (typeof unpriced === 'string') {
    rows.push(row('model.unpriced', { agent, src: job.src, model: unpriced, attempt: entry.attempt ?? null, callMade: entry.decision !== 'budget_exceeded' }));
  }

  if (args.tier && args.outcome !== 'retry') {
    rows.push(row('activity.logged', { src: job.src, tier: args.tier, outcome: args.outcome, attempt: entry.attempt ?? null }));
  }
  return rows;
}
