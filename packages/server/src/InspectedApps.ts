import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { z } from 'zod';
import { committedSnapshot } from './inspection.js';
import type { ActorJson, ActorStatusJson, InspectedSnapshot, InspectionEvent, RunDetail, RunSummary } from './protocol.js';

/** Options of InspectedApps; all have defaults. */
export interface InspectedAppsOptions {
  /** Inspected runs (root actors) kept; the least recently updated go first (default 200). */
  maxRuns?: number;
  /** Inspection events kept per run for catch-up (default 5,000). */
  maxEventsPerRun?: number;
  now?: () => number;
}

const id = z.string().min(1).max(500);
const optionalId = z.string().max(500).nullish();
const eventObject = z.looseObject({ type: z.string().max(500) });
const snapshotObject = z.looseObject({ status: z.string().max(50).optional() });
const common = { sessionId: id, rootId: optionalId, _version: z.string().max(100) };

/** The three @statelyai/inspect events, as `createWebSocketInspector` sends them (one JSON text message each). */
export const statelyEventSchema = z.discriminatedUnion('type', [
  z.looseObject({ ...common, type: z.literal('@xstate.actor'), name: z.string().max(500).nullish(), definition: z.string().nullish(), parentId: optionalId, snapshot: snapshotObject.nullish() }),
  z.looseObject({ ...common, type: z.literal('@xstate.event'), event: eventObject, sourceId: optionalId }),
  z.looseObject({ ...common, type: z.literal('@xstate.snapshot'), event: eventObject.nullish(), snapshot: snapshotObject }),
]);
type StatelyEvent = z.infer<typeof statelyEventSchema>;

/** Whether a parsed WebSocket message is meant as an @statelyai/inspect event (it may still be malformed). */
export function looksLikeInspection(json: unknown): boolean {
  return Boolean(json) && typeof json === 'object' && typeof (json as { type?: unknown }).type === 'string' && (json as { type: string }).type.startsWith('@xstate.') && '_version' in (json as object);
}

interface InspectedActor {
  id: string;
  parentId: string | undefined;
  name: string;
  definition: string | undefined;
  status: ActorStatusJson;
  snapshot: InspectedSnapshot;
  seq: number;
  createdAt: number;
  updatedAt: number;
}

interface InspectedRun {
  runId: string;
  actors: Map<string, InspectedActor>;
  events: InspectionEvent[];
  dropped: number;
  steps: number;
  createdAt: number;
  updatedAt: number;
}

/**
 * The actors of plain XState apps inspected into the server (`createWebSocketInspector({ url })`
 * pointed at `spine serve`): live only, nothing is stored. Each connection is one app; its
 * session ids are prefixed `app<N>/` so that many apps (each counting `x:0`, `x:1`, ...) stay
 * apart, and each root actor is a run, listed and shown like durable runs with `durable: false`.
 */
export class InspectedApps {
  readonly #runs = new Map<string, InspectedRun>();
  readonly #runOfActor = new Map<string, string>();
  readonly #maxRuns: number;
  readonly #maxEvents: number;
  readonly #now: () => number;
  #apps = 0;

  constructor(options: InspectedAppsOptions = {}) {
    this.#maxRuns = options.maxRuns ?? 200;
    this.#maxEvents = options.maxEventsPerRun ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  /** A new app connection's prefix for its session ids. */
  connect(): string {
    this.#apps += 1;
    return `app${this.#apps}/`;
  }

  /**
   * Takes one inspection event from an app: checks its shape, records it, and returns it in
   * the server's shape (the @statelyai/inspect fields, plus Spine's with `durable: false`).
   *
   * @throws z.ZodError when it is not an @statelyai/inspect event.
   */
  ingest(prefix: string, message: unknown): InspectionEvent {
    const raw: StatelyEvent = statelyEventSchema.parse(message);
    const now = this.#now();
    const actorId = prefix + raw.sessionId;
    const knownRun = this.#runOfActor.get(actorId);
    const rootId = raw.rootId && raw.rootId !== 'anonymous' ? prefix + raw.rootId : undefined;
    const runId = knownRun ?? rootId ?? (raw.type === '@xstate.actor' && raw.parentId ? this.#runOfActor.get(prefix + raw.parentId) : undefined) ?? actorId;
    const run = this.#run(runId, now);
    let actor = run.actors.get(actorId);
    if (!actor) {
      actor = { id: actorId, parentId: undefined, name: raw.sessionId, definition: undefined, status: 'active', snapshot: {}, seq: 0, createdAt: now, updatedAt: now };
      run.actors.set(actorId, actor);
      this.#runOfActor.set(actorId, runId);
    }
    actor.updatedAt = now;
    run.updatedAt = now;
    if (raw.type === '@xstate.actor') {
      if (raw.parentId) actor.parentId = prefix + raw.parentId;
      if (raw.name) actor.name = raw.name;
      if (raw.definition) actor.definition = raw.definition;
      if (raw.snapshot) this.#setSnapshot(actor, raw.snapshot);
    } else if (raw.type === '@xstate.snapshot') {
      actor.seq += 1;
      run.steps += 1;
      this.#setSnapshot(actor, raw.snapshot);
    }
    const base = {
      rootId: runId,
      sessionId: actorId,
      createdAt: String(now),
      id: `${actorId}:${actor.seq}:${raw.type.slice('@xstate.'.length)}`,
      _version: raw._version,
      actorId,
      runId,
      ...(actor.parentId ? { parentId: actor.parentId } : {}),
      durable: false as const,
      machine: actor.name,
      version: 'inspected',
      seq: actor.seq,
      rowId: 0,
      at: now,
      durationUs: 0,
      status: actor.status,
    };
    let event: InspectionEvent;
    if (raw.type === '@xstate.actor') {
      event = { ...base, type: '@xstate.actor', name: actor.name, snapshot: actor.snapshot, definition: actor.definition, parentId: actor.parentId };
    } else if (raw.type === '@xstate.event') {
      event = { ...base, type: '@xstate.event', event: raw.event, sourceId: raw.sourceId ? prefix + raw.sourceId : undefined };
    } else {
      event = { ...base, type: '@xstate.snapshot', event: raw.event ?? { type: '' }, snapshot: committedSnapshot(actor.snapshot) };
    }
    run.events.push(event satisfies StatelyInspectionEvent);
    if (run.events.length > this.#maxEvents) {
      // Keep the actors' registrations: the studio and receivers need them to draw anything.
      const index = run.events.findIndex((e) => e.type !== '@xstate.actor');
      run.events.splice(index, 1);
      run.dropped += 1;
    }
    return event;
  }

  /** Whether a run id is an inspected app's run. */
  has(runId: string): boolean {
    return this.#runs.has(runId);
  }

  /** Inspected runs, most recently updated first. */
  list(): RunSummary[] {
    return [...this.#runs.values()].sort((a, b) => b.updatedAt - a.updatedAt).map((run) => this.#summary(run));
  }

  summary(runId: string): RunSummary | undefined {
    const run = this.#runs.get(runId);
    return run && this.#summary(run);
  }

  /** A run's kept events, oldest first, and whether older ones were dropped. */
  events(runId: string): { events: InspectionEvent[]; total: number; truncated: boolean } {
    const run = this.#runs.get(runId);
    if (!run) return { events: [], total: 0, truncated: false };
    return { events: [...run.events], total: run.steps, truncated: run.dropped > 0 };
  }

  /** The latest `@xstate.actor` of every actor of every inspected run (what a new receiver needs to draw them). */
  actorEvents(): InspectionEvent[] {
    const out: InspectionEvent[] = [];
    for (const run of this.#runs.values()) {
      for (const actor of run.actors.values()) {
        out.push({
          type: '@xstate.actor',
          rootId: run.runId,
          sessionId: actor.id,
          createdAt: String(actor.createdAt),
          id: `${actor.id}:${actor.seq}:actor`,
          _version: 'spine-inspect/1',
          actorId: actor.id,
          runId: run.runId,
          parentId: actor.parentId,
          durable: false,
          machine: actor.name,
          version: 'inspected',
          seq: actor.seq,
          rowId: 0,
          at: actor.createdAt,
          durationUs: 0,
          status: actor.status,
          name: actor.name,
          snapshot: actor.snapshot,
          definition: actor.definition,
        });
      }
    }
    return out;
  }

  /** The run view's detail for an inspected run (no jobs, no dead letters: nothing is stored). */
  detail(runId: string): RunDetail | undefined {
    const run = this.#runs.get(runId);
    if (!run) return undefined;
    const actors: ActorJson[] = [...run.actors.values()].map((a) => ({
      id: a.id,
      runId,
      parentId: a.parentId ?? null,
      childKey: null,
      machine: a.name,
      version: 'inspected',
      seq: a.seq,
      status: a.status,
      state: a.snapshot.value ?? null,
      output: a.snapshot.output ?? null,
      error: null,
      createdAt: a.createdAt,
      updatedAt: a.updatedAt,
    }));
    return { run: this.#summary(run), actors, jobs: [], deadLetters: [], history: { total: run.steps, truncated: false, steps: [] } };
  }

  #setSnapshot(actor: InspectedActor, snapshot: Record<string, unknown>): void {
    const status = snapshot.status;
    actor.status = status === 'done' || status === 'error' || status === 'stopped' ? status : 'active';
    actor.snapshot = { ...snapshot, status: actor.status } as InspectedSnapshot;
  }

  #run(runId: string, now: number): InspectedRun {
    let run = this.#runs.get(runId);
    if (!run) {
      run = { runId, actors: new Map(), events: [], dropped: 0, steps: 0, createdAt: now, updatedAt: now };
      this.#runs.set(runId, run);
      if (this.#runs.size > this.#maxRuns) {
        const oldest = [...this.#runs.values()].filter((r) => r !== run).sort((a, b) => a.updatedAt - b.updatedAt)[0];
        if (oldest) {
          this.#runs.delete(oldest.runId);
          for (const actorId of oldest.actors.keys()) this.#runOfActor.delete(actorId);
        }
      }
    }
    return run;
  }

  #summary(run: InspectedRun): RunSummary {
    const root = run.actors.get(run.runId) ?? run.actors.values().next().value;
    return {
      runId: run.runId,
      durable: false,
      machine: root?.name ?? run.runId,
      version: 'inspected',
      status: root?.status ?? 'active',
      state: root?.snapshot.value ?? null,
      error: root?.status === 'error' ? String(root.snapshot.error ?? 'error') : null,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      steps: run.steps,
      actors: run.actors.size,
      tokens: { input: 0, output: 0, total: 0 },
      costUsd: 0,
      waitingFor: [], // an inspected app has no durable approvals
      forkedFrom: null,
    };
  }
}
