import type { ActorRecord } from '@spine/runtime';
import { INSPECTION_VERSION, type InspectedSnapshot, type InspectionEvent, type SpineStepFields } from './protocol.js';
import type { HistoryRow } from './RunReader.js';

type ActorInfo = Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version'>;

/**
 * Turns one committed step into @statelyai/inspect-shaped events: `@xstate.actor`
 * on an actor's first step, then `@xstate.event` (what arrived) and
 * `@xstate.snapshot` (what was committed), each extended with the durable
 * actor id, run id, step seq and history row id.
 */
export function inspectionEventsOf(row: HistoryRow, actor: ActorInfo | undefined): InspectionEvent[] {
  const snapshot = (safeParse(row.snapshot) ?? {}) as InspectedSnapshot;
  const event = (safeParse(row.event) ?? { type: row.eventType }) as { type: string; [key: string]: unknown };
  const fields: SpineStepFields = {
    actorId: row.actorId,
    runId: row.runId,
    parentId: actor?.parentId ?? null,
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
    events.push({ ...base('actor'), ...fields, type: '@xstate.actor', name: fields.machine, snapshot, definition: undefined });
  }
  events.push({ ...base('event'), ...fields, type: '@xstate.event', event, sourceId: sourceOf(event) });
  events.push({ ...base('snapshot'), ...fields, type: '@xstate.snapshot', event, snapshot });
  return events;
}

/** An `@xstate.actor` event for an actor whose first step is not in the batch (history truncated). */
export function actorEventOf(actor: ActorRecord): InspectionEvent {
  const snapshot = (actor.snapshot ? safeParse(actor.snapshot) : undefined) ?? {};
  return {
    rootId: actor.runId,
    sessionId: actor.id,
    createdAt: String(actor.createdAt),
    id: `${actor.id}:0:actor`,
    _version: INSPECTION_VERSION,
    actorId: actor.id,
    runId: actor.runId,
    parentId: actor.parentId,
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
    definition: undefined,
  };
}

// The history row does not record who sent an event; activity results name their invoke id.
function sourceOf(event: { type: string; actorId?: unknown }): string | undefined {
  if (event.type.startsWith('xstate.done.actor.') || event.type.startsWith('xstate.error.actor.')) {
    return typeof event.actorId === 'string' ? event.actorId : undefined;
  }
  return undefined;
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}
