import { createHash } from 'node:crypto';
import { SpineError } from './errors.js';
import type { JobRecord, Store } from './Store.js';

/** Which code, prompt and model an activity ran with, from its journal. */
export interface ActivityProvenance {
  jobKey: string;
  src: string;
  status: JobRecord['status'];
  attempts: number;
  /** Models named in the journal (`model` facts, including nested `modelCalls`/`calls`). */
  models: string[];
  providers: string[];
  /** Prompt versions named in the journal (`promptVersion`, else `promptHash` facts). */
  promptVersions: string[];
}

/** What produced one step of an actor: its machine version and the activities around it. */
export interface StepProvenance {
  runId: string;
  actorId: string;
  seq: number;
  machine: string;
  /** The machine version the step ran on (a run is pinned to it). */
  version: string;
  eventType: string;
  state: unknown;
  at: number;
  /** The activity whose result this step applied (`xstate.done/error.actor.<id>`), if any. */
  applied: ActivityProvenance | null;
  /** Activities this step requested. */
  requested: ActivityProvenance[];
}

/**
 * A prompt version: sha256 (16 hex digits) of the system prompt or template an
 * activity used. Record it as `ctx.record({ promptVersion: promptHash(template) })`.
 */
export function promptHash(template: string): string {
  return createHash('sha256').update(template).digest('hex').slice(0, 16);
}

/**
 * Answers "which machine version, prompt and model produced this step?" from the
 * store: the history row gives the version; the jobs the step requested or whose
 * result it applied give models and prompt versions from their journals.
 */
export async function stepProvenance(store: Store, target: { actorId: string; seq: number }): Promise<StepProvenance> {
  const actor = await store.getActor(target.actorId);
  if (!actor) throw new SpineError('unknown_actor', `No actor or run with id '${target.actorId}'.`, { actorId: target.actorId });
  const [row] = await store.history(target.actorId, { fromSeq: target.seq, limit: 1 });
  if (!row || row.seq !== target.seq) throw new SpineError('unknown_actor', `Actor '${target.actorId}' has no step ${target.seq} (it has ${actor.seq}).`, { actorId: target.actorId });
  const jobs = await store.listJobs({ actorId: target.actorId });
  const requested = jobs.filter((j) => j.key.startsWith(`${target.actorId}:${target.seq}:`));
  const result = /^xstate\.(done|error)\.actor\.(.+)$/.exec(row.eventType);
  let applied: JobRecord | undefined;
  if (result) {
    const childId = result[2];
    applied = jobs
      .filter((j) => j.childId === childId && j.finishedAt !== null && j.finishedAt <= row.startedAt)
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))[0];
  }
  return {
    runId: actor.runId,
    actorId: actor.id,
    seq: row.seq,
    machine: actor.machine,
    version: row.version,
    eventType: row.eventType,
    state: JSON.parse(row.stateValue) as unknown,
    at: row.startedAt,
    applied: applied ? activityProvenance(applied) : null,
    requested: requested.map(activityProvenance),
  };
}

/** Models, providers and prompt versions an activity's journal names. */
export function activityProvenance(job: JobRecord): ActivityProvenance {
  const models = new Set<string>();
  const providers = new Set<string>();
  const prompts = new Set<string>();
  const visit = (facts: Record<string, unknown>) => {
    if (typeof facts.model === 'string') models.add(facts.model);
    if (typeof facts.provider === 'string') providers.add(facts.provider);
    const prompt = typeof facts.promptVersion === 'string' ? facts.promptVersion : typeof facts.promptHash === 'string' ? facts.promptHash : undefined;
    if (prompt) prompts.add(prompt);
    for (const nested of [facts.modelCalls, facts.calls]) if (Array.isArray(nested)) for (const n of nested) if (n && typeof n === 'object') visit(n as Record<string, unknown>);
  };
  let journal: unknown;
  try {
    journal = JSON.parse(job.journal);
  } catch {
    journal = [];
  }
  if (Array.isArray(journal)) for (const entry of journal) if (entry && typeof entry === 'object') visit(entry as Record<string, unknown>);
  return { jobKey: job.key, src: job.src, status: job.status, attempts: job.attempts, models: [...models], providers: [...providers], promptVersions: [...prompts] };
}
