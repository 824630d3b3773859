import type { ActorJson, InspectionEvent, RunDetail } from '@spine/server/protocol';

/** One committed step of one actor, as the timeline shows it. */
export interface Step {
  key: string;
  actorId: string;
  machine: string;
  version: string;
  parentId: string | null;
  seq: number;
  rowId: number;
  /** When the step started (ms since the epoch). */
  at: number;
  durationUs: number;
  eventType: string;
  event: Record<string, unknown> & { type: string };
  value: unknown;
  context: unknown;
  status: string;
  snapshot: Record<string, unknown>;
}

/** What the studio knows about an actor of the open run. */
export interface ActorMeta {
  id: string;
  parentId: string | null;
  childKey: string | null;
  machine: string;
  version: string;
  status: string;
  /** The machine's JSON structure from `@xstate.actor`'s `definition` (an inspected app's actor draws its diagram from it). */
  definition?: unknown;
}

/** The open run: its steps in commit order, its actors, and the REST detail (jobs, dead letters). */
export interface RunTimeline {
  runId: string;
  steps: Step[];
  actors: Record<string, ActorMeta>;
  detail: RunDetail | undefined;
  /** Steps in the store, and whether the catch-up left older ones out. */
  total: number;
  truncated: boolean;
  caughtUp: boolean;
  /** Keys (`actorId:seq`) of the steps held; append-only, shared by successive versions of one run's timeline. */
  keys: Set<string>;
}

/** An empty timeline for a run being opened. */
export function emptyTimeline(runId: string): RunTimeline {
  return { runId, steps: [], actors: {}, detail: undefined, total: 0, truncated: false, caughtUp: false, keys: new Set() };
}

/** Adds inspection events (catch-up or live); a step already known is ignored. Returns the same object when nothing changed. */
export function addEvents(timeline: RunTimeline, events: readonly InspectionEvent[]): RunTimeline {
  let steps: Step[] | undefined;
  let actors: Record<string, ActorMeta> | undefined;
  const known = timeline.keys;
  let unordered = false;
  for (const event of events) {
    if (event.runId !== timeline.runId) continue;
    const meta = (actors ?? timeline.actors)[event.actorId];
    const definition = event.type === '@xstate.actor' && event.durable === false && event.definition ? parseDefinition(event.definition) : meta?.definition;
    if (!meta || meta.status !== event.status || (event.type === '@xstate.actor' && !meta.machine) || definition !== meta.definition) {
      actors ??= { ...timeline.actors };
      actors[event.actorId] = {
        id: event.actorId,
        parentId: event.parentId ?? null,
        childKey: meta?.childKey ?? childKeyOf(event.actorId, event.parentId ?? null),
        machine: event.machine,
        version: event.version,
        status: event.status,
        ...(definition === undefined ? {} : { definition }),
      };
    }
    if (event.type !== '@xstate.snapshot') continue;
    const key = `${event.actorId}:${event.seq}`;
    if (known.has(key)) continue;
    known.add(key);
    steps ??= [...timeline.steps];
    if (event.rowId && steps.length && event.rowId < steps[steps.length - 1]!.rowId) unordered = true;
    steps.push({
      key,
      actorId: event.actorId,
      machine: event.machine,
      version: event.version,
      parentId: event.parentId ?? null,
      seq: event.seq,
      rowId: event.rowId,
      at: event.at,
      durationUs: event.durationUs,
      eventType: event.event.type,
      event: event.event,
      value: event.snapshot.value,
      context: event.snapshot.context,
      status: event.status,
      snapshot: event.snapshot,
    });
  }
  if (!steps && !actors) return timeline;
  if (steps && unordered) steps.sort((a, b) => a.rowId - b.rowId || a.at - b.at);
  return { ...timeline, steps: steps ?? timeline.steps, actors: actors ?? timeline.actors };
}

/** Merges the REST detail: actors' child keys and statuses, jobs, dead letters. */
export function withDetail(timeline: RunTimeline, detail: RunDetail): RunTimeline {
  const actors = { ...timeline.actors };
  for (const a of detail.actors) actors[a.id] = { ...metaOf(a), ...(actors[a.id]?.definition === undefined ? {} : { definition: actors[a.id]!.definition }) };
  return { ...timeline, detail, actors };
}

function metaOf(a: ActorJson): ActorMeta {
  return { id: a.id, parentId: a.parentId, childKey: a.childKey, machine: a.machine, version: a.version, status: a.status };
}

function parseDefinition(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function childKeyOf(actorId: string, parentId: string | null): string | null {
  return parentId && actorId.startsWith(`${parentId}/`) ? actorId.slice(parentId.length + 1) : null;
}

/** The index the view shows: the cursor, or the latest step when following live. */
export function viewIndex(timeline: RunTimeline, cursor: number | null): number {
  if (!timeline.steps.length) return -1;
  return cursor === null ? timeline.steps.length - 1 : Math.min(Math.max(cursor, 0), timeline.steps.length - 1);
}

/** An actor's latest step at or before a timeline index. */
export function actorStepAt(timeline: RunTimeline, index: number, actorId: string): Step | undefined {
  for (let i = Math.min(index, timeline.steps.length - 1); i >= 0; i--) {
    const step = timeline.steps[i]!;
    if (step.actorId === actorId) return step;
  }
  return undefined;
}

/** The step of the same actor just before this one, if loaded. */
export function previousStep(timeline: RunTimeline, step: Step): Step | undefined {
  const index = timeline.steps.indexOf(step);
  for (let i = index - 1; i >= 0; i--) {
    const candidate = timeline.steps[i]!;
    if (candidate.actorId === step.actorId) return candidate;
  }
  return undefined;
}

/** The actors of the run as a tree: roots first, each followed by its children, with depth. */
export function actorTree(timeline: RunTimeline): { actor: ActorMeta; depth: number }[] {
  const all = Object.values(timeline.actors);
  const children = new Map<string | null, ActorMeta[]>();
  for (const actor of all) {
    const parent = actor.parentId && timeline.actors[actor.parentId] ? actor.parentId : null;
    const list = children.get(parent) ?? [];
    list.push(actor);
    children.set(parent, list);
  }
  const out: { actor: ActorMeta; depth: number }[] = [];
  const visit = (parent: string | null, depth: number) => {
    for (const actor of (children.get(parent) ?? []).sort((a, b) => (a.id === timeline.runId ? -1 : b.id === timeline.runId ? 1 : a.id.localeCompare(b.id)))) {
      out.push({ actor, depth });
      visit(actor.id, depth + 1);
    }
  };
  visit(null, 0);
  return out;
}

/**
 * A name per actor that tells agents apart: the root is `<machine> (top level)`, an agent its
 * child key without the spawn counter (`writer~5` -> `writer`), numbered in order when siblings
 * share a name (`writer #1`, `writer #2`). `actors` in tree order.
 */
export function actorLabels(actors: readonly ActorMeta[], runId: string): Map<string, string> {
  const base = (a: ActorMeta) => (a.childKey ?? a.id.slice(a.id.lastIndexOf('/') + 1)).replace(/~\d+$/, '') || a.machine;
  const counts = new Map<string, number>();
  for (const a of actors) if (a.id !== runId) counts.set(`${a.parentId} ${base(a)}`, (counts.get(`${a.parentId} ${base(a)}`) ?? 0) + 1);
  const seen = new Map<string, number>();
  const labels = new Map<string, string>();
  for (const a of actors) {
    if (a.id === runId) {
      labels.set(a.id, `${a.machine} (top level)`);
      continue;
    }
    const key = `${a.parentId} ${base(a)}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    labels.set(a.id, (counts.get(key) ?? 1) > 1 ? `${base(a)} #${n}` : base(a));
  }
  return labels;
}
