import type { ActorRecord } from '@spine/runtime';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { INSPECTION_VERSION, type CommittedSnapshot, type InspectedSnapshot, type InspectionEvent, type SpineStepFields } from './protocol.js';
import type { HistoryRow } from './RunReader.js';

type ActorInfo = Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version'> & {
  /** The machine version's JSON structure, as `@xstate.actor` carries it (`definition`). */
  definition?: string | undefined;
};

/**
 * Turns one committed step into @statelyai/inspect-shaped events: `@xstate.actor`
 * on an actor's first step, then `@xstate.event` (what arrived) and
 * `@xstate.snapshot` (what was committed), each extended with the durable
 * actor id, run id, step seq and history row id. `sourceId` names the sender
 * where the step knows it: the child whose result arrives (`xstate.done.actor.<id>`,
 * `xstate.error.actor.<id>`; the durable child actor or the invoked activity, as
 * `<actorId>/<id>`) and the parent that started a child (`xstate.init`).
 */
export function inspectionEventsOf(row: HistoryRow, actor: ActorInfo | undefined): InspectionEvent[] {
  const snapshot = (safeParse(row.snapshot) ?? {}) as InspectedSnapshot;
  const event = (safeParse(row.event) ?? { type: row.eventType }) as { type: string; [key: string]: unknown };
  const fields: SpineStepFields = {
    actorId: row.actorId,
    runId: row.runId,
    ...(actor?.parentId ? { parentId: actor.parentId } : {}),
    machine: actor?.machine ?? '?',
    version: row.version,
    seq: row.seq,
    rowId: row.rowId,
    at: row.startedAt,
    durationUs: row.durationUs,
    status: row.status,
  };
  const base = (kind: string) => ({
    rootId: row.runId,
    sessionId: row.actorId,
    createdAt: String(row.startedAt + Math.round(row.durationUs / 1000)),
    id: `${row.actorId}:${row.seq}:${kind}`,
    _version: INSPECTION_VERSION,
  });
  const events: InspectionEvent[] = [];
  if (row.seq === 1) {
    events.push({ ...base('actor'), ...fields, type: '@xstate.actor', name: fields.machine, snapshot, definition: actor?.definition, parentId: actor?.parentId ?? undefined });
  }
  events.push({ ...base('event'), ...fields, type: '@xstate.event', event, sourceId: sourceOf(event, row.actorId, actor?.parentId ?? null) });
  events.push({ ...base('snapshot'), ...fields, type: '@xstate.snapshot', event, snapshot: committedSnapshot(snapshot) });
  // Spine's events are @statelyai/inspect's events (plus Spine's fields): checked against its types here.
  return events satisfies StatelyInspectionEvent[];
}

/** An `@xstate.actor` event for an actor whose first step is not in the batch (history truncated). */
export function actorEventOf(actor: ActorRecord, definition?: string): InspectionEvent {
  const snapshot = (actor.snapshot ? safeParse(actor.snapshot) : undefined) ?? {};
  return {
    rootId: actor.runId,
    sessionId: actor.id,
    createdAt: String(actor.createdAt),
    id: `${actor.id}:0:actor`,
    _version: INSPECTION_VERSION,
    actorId: actor.id,
    runId: actor.runId,
    parentId: actor.parentId ?? undefined,
    machine: actor.machine,
    version: actor.version,
    seq: actor.seq,
    rowId: 0,
    at: actor.createdAt,
    durationUs: 0,
    status: actor.status,
    type: '@xstate.actor',
    name: actor.machine,
    snapshot: snapshot as InspectedSnapshot,
    definition,
  };
}

// The history row does not record who sent an event; results name their child, and a child's
// `xstate.init` comes from its parent. Events sent from outside (the API, the CLI) have no source.
function sourceOf(event: { type: string; actorId?: unknown }, actorId: string, parentId: string | null): string | undefined {
  const child = /^xstate\.(?:done|error)\.actor\.(.+)$/.exec(event.type)?.[1];
  if (child !== undefined) return `${actorId}/${typeof event.actorId === 'string' ? event.actorId : child}`;
  if (event.type === 'xstate.init' && parentId) return parentId;
  return undefined;
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** A snapshot with its status, output and error in XState's shape (`status` defaults to `active`). */
export function committedSnapshot(snapshot: InspectedSnapshot): CommittedSnapshot {
  switch (snapshot.status) {
    case 'done':
      return { ...snapshot, status: 'done', output: snapshot.output, error: undefined };
    case 'error':
      return { ...snapshot, status: 'error', output: undefined, error: snapshot.error };
    case 'stopped':
      return { ...snapshot, status: 'stopped', output: undefined, error: undefined };
    default:
      return { ...snapshot, status: 'active', output: undefined, error: undefined };
  }
}
