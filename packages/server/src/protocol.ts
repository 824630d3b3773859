/**
 * The studio protocol: the commands a client may send (zod schemas, checked on
 * every WebSocket message and HTTP body) and the JSON the server answers with.
 * Importable by the browser (`@spine/server/protocol`): it depends on zod only.
 */
import { z } from 'zod';

/** Version tag carried by every inspection event (`_version`). */
export const INSPECTION_VERSION = 'spine-inspect/1';

const requestId = z.string().min(1).max(100);
const actorId = z.string().min(1).max(500);
const runId = actorId;
/** A machine's name: its files are `<name>.machine.json`, `<name>.layout.json` and `<name>.ts`. */
const machineName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a machine name is a letter followed by up to 63 letters, digits, - or _')
  .refine((name) => !Object.prototype.hasOwnProperty.call(Object.prototype, name), 'a machine name cannot be a property of every JavaScript object (constructor, toString, valueOf, ...)');
const position = z.strictObject({ x: z.number().finite(), y: z.number().finite() });

/** An XState event as a client sends it: an object with a string `type`; the machine's schema checks the rest. */
export const eventBody = z.looseObject({ type: z.string().min(1).max(200) });

/** Bodies of the commands, shared by the REST routes and the WebSocket commands. */
export const bodies = {
  subscribe: z.strictObject({
    /** Receive this run's inspection events, after a catch-up of its history. */
    runId: runId.optional(),
    /** Receive every run's inspection events, inspected apps' too (no catch-up). */
    all: z.boolean().optional(),
    /** Most recent history rows sent in the catch-up (default 2,000). */
    historyLimit: z.number().int().min(0).max(100_000).optional(),
  }),
  unsubscribe: z.strictObject({}),
  start: z.strictObject({ machine: z.string().min(1).max(200), input: z.unknown().optional(), runId: runId.optional() }),
  send: z.strictObject({ actorId, event: eventBody }),
  cancel: z.strictObject({ runId, reason: z.string().max(1000).optional() }),
  retry: z.strictObject({ runId, jobKey: z.string().min(1).max(1000).optional() }),
  /**
   * Forks a run from a step; `context` (optional) is the forked actor's new context at that step,
   * checked against its machine's context schema first (LangGraph's update_state, then fork).
   */
  fork: z.strictObject({ runId, actorId: actorId.optional(), seq: z.number().int().min(1), context: z.record(z.string(), z.unknown()).optional() }),
  /** Approves a pending approval as the person `by`; `input` is merged into the proposal (checked against the activity's input schema). */
  approve: z.strictObject({
    approvalId: z.string().min(1).max(500),
    by: z.string().trim().min(1).max(200),
    input: z.unknown().optional(),
    reason: z.string().max(10_000).optional(),
  }),
  /** Rejects a pending approval as the person `by`; the machine receives `xstate.error.actor.<id>` with kind `rejected`. */
  reject: z.strictObject({ approvalId: z.string().min(1).max(500), by: z.string().trim().min(1).max(200), reason: z.string().max(10_000).optional() }),
  /** Saves a machine edited in the studio: validated, written to `machines/<name>.machine.json`, registered as a new version. */
  saveMachine: z.strictObject({
    machine: machineName,
    config: z.record(z.string(), z.unknown()),
    /** Positions the user dragged, kept in `<name>.layout.json` (not part of the version). */
    layout: z.strictObject({ positions: z.record(z.string(), position) }).optional(),
    /** The version the editor opened; `null` creates a new machine. Refused if the file changed since. */
    baseVersion: z.string().min(1).max(100).nullable().optional(),
  }),
  /** Moves a running actor to another version of its machine (default: the current one), if its state exists there. */
  moveActor: z.strictObject({ actorId, version: z.string().min(1).max(100).optional() }),
} as const;

const header = { id: requestId };

/** Every command a WebSocket client may send; `id` correlates the reply. */
export const commandSchema = z.discriminatedUnion('type', [
  bodies.subscribe.extend({ ...header, type: z.literal('subscribe') }),
  bodies.unsubscribe.extend({ ...header, type: z.literal('unsubscribe') }),
  bodies.start.extend({ ...header, type: z.literal('start') }),
  bodies.send.extend({ ...header, type: z.literal('send') }),
  bodies.cancel.extend({ ...header, type: z.literal('cancel') }),
  bodies.retry.extend({ ...header, type: z.literal('retry') }),
  bodies.fork.extend({ ...header, type: z.literal('fork') }),
  bodies.approve.extend({ ...header, type: z.literal('approve') }),
  bodies.reject.extend({ ...header, type: z.literal('reject') }),
  bodies.saveMachine.extend({ ...header, type: z.literal('saveMachine') }),
  bodies.moveActor.extend({ ...header, type: z.literal('moveActor') }),
]);

/** A validated client command. */
export type Command = z.infer<typeof commandSchema>;
/** The names of the commands. */
export type CommandType = Command['type'];

/** What went wrong, as the server reports it. */
export type ServerErrorCode =
  | 'invalid_json'
  | 'invalid_command'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden_origin'
  | 'forbidden_host'
  | 'not_found'
  | 'unknown_run'
  | 'no_runtime'
  | 'not_available'
  | 'nothing_to_retry'
  | 'conflict'
  | 'token_required'
  | 'rate_limited'
  | 'internal';

/** One field a schema refused. */
export interface IssueJson {
  path: string;
  message: string;
  /** For machine issues: the rule broken (`unknown_action`, `unreachable`, ...). */
  rule?: string;
  /** For machine issues: the state (path of keys) and transition it is about. */
  element?: { state: string[]; transition?: { source: string; key?: string; invoke?: number; index?: number } };
}

/** An error as JSON: `code` is a ServerErrorCode or a runtime SpineErrorCode (e.g. `invalid_event`). */
export interface ErrorJson {
  code: string;
  message: string;
  issues?: IssueJson[];
}

/** Lifecycle of a durable actor, as the runtime stores it. */
export type ActorStatusJson = 'active' | 'done' | 'error' | 'stopped';

/** Tokens spent, summed over journal entries that carry `usage`. */
export interface TokensJson {
  input: number;
  output: number;
  total: number;
}

/** One run (a root actor and its descendants) in the runs list. */
export interface RunSummary {
  runId: string;
  /** False for an inspected XState app's root actor (live only, not in the store); absent for durable runs. */
  durable?: false;
  machine: string;
  version: string;
  status: ActorStatusJson;
  /** The root actor's state value. */
  state: unknown;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  /** Committed steps of every actor of the run. */
  steps: number;
  actors: number;
  tokens: TokensJson;
  /** Priced calls only: see `unpriced`. */
  costUsd: number;
  /** Models the run called that have no price (their cost is unknown, counted as 0): the studio flags the cost. */
  unpriced?: string[];
  /** The decisions the run waits for (pending approvals), oldest first; empty when it waits for nobody. */
  waitingFor: WaitingJson[];
  /** The run this one was forked from, and at which step (null for a run started afresh). */
  forkedFrom: { runId: string; actorId: string; seq: number; contextEdited: boolean } | null;
}

/** A pending approval as the runs list shows it: what waits, since when, until when. */
export interface WaitingJson {
  approvalId: string;
  actorId: string;
  src: string;
  tier: 'medium' | 'high';
  requestedAt: number;
  deadlineAt: number | null;
  onDeadline: 'escalate' | 'halt';
  escalated: boolean;
}

/** A durable actor of a run; `parentId` makes the supervisor tree. */
export interface ActorJson {
  id: string;
  runId: string;
  parentId: string | null;
  childKey: string | null;
  machine: string;
  version: string;
  seq: number;
  status: ActorStatusJson;
  state: unknown;
  output: unknown;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

/** One attempt (or recorded fact set) of an activity, from its journal. */
export type JournalEntryJson = Record<string, unknown> & { attempt?: number; outcome?: string; durationMs?: number };

/** An activity call of a step: input, output, attempts and spend. */
export interface JobJson {
  key: string;
  actorId: string;
  /** The seq of the step that requested it. */
  step: number | null;
  childId: string;
  src: string;
  status: 'pending' | 'held' | 'running' | 'done' | 'failed' | 'cancelled';
  attempts: number;
  input: unknown;
  output: unknown;
  error: unknown;
  journal: JournalEntryJson[];
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  runAt: number;
  /** From first start to finish, when finished. */
  latencyMs: number | null;
  tokens: TokensJson;
  costUsd: number;
  /** Models named in the journal (`model` fields). */
  models: string[];
  /** Those of them with no price, when any. */
  unpriced?: string[];
}

/** A refused event. */
export interface DeadLetterJson {
  id: number;
  actorId: string;
  event: unknown;
  reason: string;
  issues: IssueJson[] | null;
  source: string;
  createdAt: number;
}

/** One committed step as the REST run detail lists it. */
export interface StepJson {
  rowId: number;
  actorId: string;
  seq: number;
  eventType: string;
  event: unknown;
  state: unknown;
  context: unknown;
  status: ActorStatusJson;
  at: number;
  durationUs: number;
}

/** Everything the run view needs besides the live inspection stream. */
export interface RunDetail {
  run: RunSummary;
  actors: ActorJson[];
  jobs: JobJson[];
  deadLetters: DeadLetterJson[];
  /** The most recent steps (`GET /api/runs/:id?history=N`, default 200); absent from the read model, added by the route. */
  history?: { total: number; truncated: boolean; steps: StepJson[] };
}

/** A machine and its stored versions, with JSON configs for diagrams. */
export interface MachineJson {
  name: string;
  /** Whether the server's runtime can run it (it has the implementations). */
  runnable: boolean;
  current: string | null;
  versions: { version: string; createdAt: number; config: unknown }[];
  /** Accepted events with their payload JSON Schemas, when the runtime knows the machine. */
  events: { type: string; schema: unknown }[];
  /** JSON Schema of the run input, when known. */
  input: unknown;
  /** The machine's files, for the editor; absent when the server was started without a machines directory. */
  source?: MachineSourceJson;
}

/** Names a machine structure uses, by kind. */
export interface MachineNamesJson {
  actions: string[];
  guards: string[];
  delays: string[];
  activities: string[];
  events: string[];
}

/** What a machine's implementation (`<name>.ts`) provides, for the editor's pickers. */
export interface ImplementationJson {
  /** `assign` updates context, `send` hands an event to another actor, `custom` is code. */
  actions: { name: string; kind: 'assign' | 'send' | 'custom'; params: unknown }[];
  guards: { name: string; params: unknown }[];
  /** Named delays; `ms` when it is a fixed number. */
  delays: { name: string; ms: number | null }[];
  /** What a state may invoke: the machine's activities (with their input JSON Schema) and other machines (durable agents). */
  activities: { name: string; kind: 'activity' | 'machine'; input: unknown }[];
  /** Accepted events, as in `MachineJson.events`. */
  events: string[];
}

/** A machine as its files hold it. */
export interface MachineSourceJson {
  /** `<name>.machine.json`, relative to the machines directory. */
  file: string;
  /** The structure as written, key order kept; null when the file is not valid JSON. */
  config: Record<string, unknown> | null;
  /** The version of that structure (content hash). */
  version: string | null;
  layout: { positions: Record<string, { x: number; y: number }> };
  /** Null when the server has no implementation loaded for it (created in the editor: restart `spine serve` once it has code). */
  implementation: ImplementationJson | null;
  /** Names the structure uses that no loaded implementation provides. */
  needsImplementation: MachineNamesJson | null;
  /** Why the file could not be read, if it could not. */
  error: string | null;
}

/** What saving a machine did. */
export interface SaveMachineResult {
  machine: string;
  file: string;
  version: string;
  previousVersion: string | null;
  /** False when the structure was unchanged (the file is byte-identical). */
  changed: boolean;
  layoutChanged: boolean;
  created: boolean;
  /** Whether new runs can start on it now (it has implementations loaded). */
  runnable: boolean;
  /** The stub implementation file written for a new machine, if one was. */
  scaffold: string | null;
  needsImplementation: MachineNamesJson | null;
}

/** What moving an actor to another version did. */
export interface MoveActorJson {
  actorId: string;
  machine: string;
  from: string;
  to: string;
  state: unknown;
  /** False when it already was on that version. */
  moved: boolean;
}

/** A request for a person's decision on a held activity, with its JSON fields parsed. */
export interface ApprovalJson {
  id: string;
  runId: string;
  actorId: string;
  jobKey: string;
  childId: string;
  src: string;
  machine: string;
  version: string;
  seq: number;
  tier: 'medium' | 'high';
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';
  /** The activity input the agent proposes. */
  proposal: unknown;
  /** Why: the state, the event, the reasoning the agent recorded, its last journal entry. */
  rationale: unknown;
  requestedAt: number;
  deadlineAt: number | null;
  onDeadline: 'escalate' | 'halt';
  escalatedAt: number | null;
  escalated: boolean;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  editedInput: unknown;
  signature: string | null;
}

/** What a decision did: applied, or refused (and audited). */
export interface DecisionJson {
  approvalId: string;
  runId: string;
  decisionId: number;
  status: 'applied' | 'refused';
  reason?: string;
}

/** One row of the append-only audit log. */
export interface AuditEntryJson {
  seq: number;
  at: number;
  runId: string | null;
  actorId: string | null;
  kind: string;
  who: string;
  subject: string | null;
  detail: unknown;
  prevHash: string;
  hash: string;
}

interface SnapshotFields {
  value?: unknown;
  context?: unknown;
  children?: Record<string, { src?: unknown; snapshot?: unknown }>;
  [key: string]: unknown;
}

/** A snapshot as inspection events carry it (persisted XState snapshot, JSON). */
export type InspectedSnapshot = SnapshotFields & { status?: ActorStatusJson; output?: unknown; error?: unknown };

/** The status of an XState snapshot with its output or error (xstate's `Snapshot` union). */
export type SnapshotStatusJson =
  | { status: 'active'; output: undefined; error: undefined }
  | { status: 'done'; output: unknown; error: undefined }
  | { status: 'error'; output: undefined; error: unknown }
  | { status: 'stopped'; output: undefined; error: undefined };

/** A committed snapshot, as `@xstate.snapshot` carries it. */
export type CommittedSnapshot = SnapshotFields & SnapshotStatusJson;

/** The @statelyai/inspect base fields. */
interface InspectionBase {
  /** The run id (session id of the root actor). */
  rootId: string;
  /** The durable actor id. */
  sessionId: string;
  /** Commit time in ms since the epoch, as a string (as @statelyai/inspect does). */
  createdAt: string;
  /** Unique per inspection event: `actorId:seq:kind`. */
  id: string;
  _version: string;
}

/**
 * Spine's extensions: where the step lives in the store. Events of an inspected app (an XState
 * app whose `createWebSocketInspector` points at the server) carry them too, with `durable: false`,
 * `version: 'inspected'`, a per-actor `seq` and `rowId` 0.
 */
export interface SpineStepFields {
  actorId: string;
  runId: string;
  /** The parent actor's id; absent for a run's root (as @statelyai/inspect has it). */
  parentId?: string | undefined;
  /** False for an inspected app's actor: live only, nothing in the store. Absent for durable actors. */
  durable?: false;
  machine: string;
  version: string;
  /** The actor's step number. */
  seq: number;
  /** The history row id (global commit order); 0 when unknown. */
  rowId: number;
  /** When the step started, ms since the epoch. */
  at: number;
  durationUs: number;
  status: ActorStatusJson;
}

/** An actor came to exist (its first step). */
export type ActorInspectionEvent = InspectionBase &
  SpineStepFields & { type: '@xstate.actor'; name: string; snapshot: InspectedSnapshot; definition: string | undefined; parentId: string | undefined };
/** An event reached an actor (and was applied as step `seq`). */
export type EventInspectionEvent = InspectionBase &
  SpineStepFields & { type: '@xstate.event'; event: { type: string; [key: string]: unknown }; sourceId: string | undefined };
/** The snapshot an actor committed at step `seq`. */
export type SnapshotInspectionEvent = InspectionBase &
  SpineStepFields & { type: '@xstate.snapshot'; event: { type: string; [key: string]: unknown }; snapshot: CommittedSnapshot };
/** Any inspection event the server streams. */
export type InspectionEvent = ActorInspectionEvent | EventInspectionEvent | SnapshotInspectionEvent;

/** Messages from the server over the WebSocket. */
export type ServerMessage =
  | { type: 'hello'; protocol: 1; serverTime: number; runtime: boolean; maxPayloadBytes: number }
  | {
      type: 'inspect';
      /** Server time when the batch was sent (ms), for lag measurement. */
      sentAt: number;
      events: InspectionEvent[];
      /** Present on the catch-up batch that answers a subscribe. */
      catchUp?: { runId: string; total: number; truncated: boolean };
    }
  | { type: 'runs'; runs: RunSummary[] }
  /** Some events were dropped for this client (it read too slowly); resubscribe to catch up. */
  | { type: 'gap' }
  | PartialJson
  | { type: 'reply'; id: string; ok: true; result: unknown }
  | { type: 'reply'; id: string | null; ok: false; error: ErrorJson };

/**
 * A running activity's partial output (a model's answer as it streams), sent only to clients
 * watching its run, throttled, and never stored: the committed step carries the real result.
 * `ended` says the attempt is over (its result journaled, or it failed and will be retried):
 * drop the partial.
 */
export interface PartialJson {
  type: 'partial';
  runId: string;
  actorId: string;
  jobKey: string;
  src: string;
  attempt: number;
  /** The text so far (its last `maxPartialChars` characters when longer). */
  text: string;
  /** Characters left out at the start of `text` because the text is longer than the server sends. */
  omitted: number;
  at: number;
  ended?: true;
}

/** One priced model call, for the cost chart. */
export interface CostPoint {
  at: number;
  runId: string;
  actorId: string;
  machine: string;
  model: string;
  costUsd: number;
  tokens: TokensJson;
  /** The model has no price: `costUsd` is 0 but the real cost is unknown. */
  unpriced?: boolean;
}

/** How a fork or retry created a new run. */
export interface ForkResult {
  runId: string;
  forkedFrom: { runId: string; actorId: string; seq: number };
  actors: number;
  steps: number;
  jobs: number;
  timers: number;
  notes: string[];
}

/** What a retry did: ran a job in back-off now, or forked the run before the failure. */
export type RetryResult = { mode: 'now'; jobKey: string } | ({ mode: 'fork'; jobKey: string | null } & ForkResult);
