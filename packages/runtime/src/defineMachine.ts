import type { AnyActorLogic, AnyStateMachine, EventObject } from 'xstate';
import type { z } from 'zod';

/**
 * A machine's structure as JSON: the XState config (states, transitions, `after`,
 * `invoke`, tags, meta) with every action, guard, delay and actor referenced by name.
 */
export type MachineConfigJson = Record<string, unknown> & { id?: string; states?: Record<string, unknown> };

/** What an activity sees while it runs. */
export interface ActivityContext {
  /** Stable idempotency key: the same on every attempt of this invocation; pass it to the systems you call. */
  readonly key: string;
  /** 1 on the first execution; grows with each retry and each re-execution after a crash. */
  readonly attempt: number;
  readonly actorId: string;
  readonly runId: string;
  readonly machine: string;
  /** The invoke id in the machine. */
  readonly childId: string;
  /** Aborted when the invoking state is left or the host stops. */
  readonly signal: AbortSignal;
  /** The invoking actor's context when the activity was requested (JSON). */
  readonly context: unknown;
  /** Milliseconds since the epoch, from the host's clock. */
  now(): number;
  /** Adds facts to this attempt's journal entry (usage, cost, model, decisions); journaled with the result. */
  record(facts: Record<string, unknown>): void;
  /** Journal entries of the earlier attempts of this job, oldest first. */
  readonly previousAttempts: readonly Record<string, unknown>[];
  /**
   * Every journal entry of every activity of this run so far (all agents), oldest
   * first: what budgets read to know what the run has already spent.
   */
  runJournal(): Promise<Record<string, unknown>[]>;
  /**
   * Puts an event into the invoking actor's durable mailbox (checked against its
   * event schemas; a refused one is dead-lettered). What `fromCallback`'s `sendBack` uses.
   */
  send(event: EventObject): Promise<void>;
  /**
   * Listens to the events the invoking actor sends to this activity's invoke id
   * (`sendTo(childId, …)`) while this attempt runs in this host: what `fromCallback`'s
   * `receive` uses. Events sent before the first listener is added wait for it until
   * `run` returns; after that, an attempt with no listener ignores them (as xstate does).
   */
  receive?(listener: (event: EventObject) => void): void;
  /**
   * Reports this attempt's partial output so far (e.g. a model's answer as it streams) to live
   * observers such as the studio. Display only: never journaled, lost with the attempt; the
   * result the activity returns stays the one journaled. Cheap to call often.
   */
  progress(partial: ActivityPartial): void;
  /** True while something listens for partial output (`runtime.onPartial`): worth streaming then. */
  readonly watched: boolean;
}

/** Partial output of a running activity attempt: everything produced so far, not a delta. */
export interface ActivityPartial {
  text: string;
}

/** Retry for errors that are neither `RetryableError` nor `TerminalError`. Defaults: no retry. */
export interface ActivityRetry {
  maxAttempts: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
}

/** A side effect run by the host only after the step that requested it has committed. */
export interface Activity<I = any, O = any> {
  /** Validates the input before each attempt. */
  input?: z.ZodType<I>;
  /** Validates the output before it is journaled. */
  output?: z.ZodType<O>;
  /**
   * Builds the input from the invoking actor's context and event (as they were when
   * the invoke ran) and the invoke's static `input` from the JSON structure.
   */
  mapInput?: (args: { context: any; event: EventObject; input: unknown }) => I;
  run(input: I, ctx: ActivityContext): Promise<O>;
  retry?: ActivityRetry;
  /** Hard cap on attempts, including `RetryableError` retries and crash re-executions (default 10). */
  maxAttempts?: number;
  /** Aborts an attempt that takes longer (the attempt then counts as a retryable timeout). */
  timeoutMs?: number;
  /** Set for activities made from xstate logic (`fromPromise`, `fromCallback`). */
  kind?: 'promise' | 'callback';
}

/** Declares an activity with its types inferred. */
export function defineActivity<I, O>(activity: Activity<I, O>): Activity<I, O> {
  return activity;
}

/** Implementations and schemas that give a JSON machine its behaviour. */
export interface MachineImplementation {
  schemas: {
    /** Input of a run (or of a spawned child); validated before the run starts. */
    input?: z.ZodType;
    /** Context; checked after every step in development and by the round-trip test. */
    context?: z.ZodType;
    /** Payload schema per accepted event type (the `type` field is implied). */
    events?: Record<string, z.ZodType>;
    output?: z.ZodType;
    /**
     * Params of actions and guards that take them (`{ type: 'notify', params: { channel } }`),
     * by name: the studio's editor shows them when a name is picked.
     */
    params?: { actions?: Record<string, z.ZodType>; guards?: Record<string, z.ZodType> };
  };
  /** Initial context from the input (JSON configs cannot hold functions). */
  context?: (input: any) => Record<string, unknown>;
  actions?: Record<string, any>;
  guards?: Record<string, any>;
  delays?: Record<string, number | ((args: any) => number)>;
  /** Named activities this machine invokes. */
  activities?: Record<string, Activity>;
  /**
   * xstate actor logic this machine invokes or spawns by name, as `setup({ actors })` gives it:
   * `fromPromise` runs as a journaled activity, `fromCallback` as a long-lived one (its
   * `sendBack` and `receive` work as in xstate). A machine is invoked by its registered name
   * instead; other logic (observables, `fromTransition`) is refused at registration.
   */
  actors?: Record<string, AnyActorLogic>;
  /** Output when the machine reaches a final state (JSON configs cannot hold functions). */
  output?: (args: { context: any; event: EventObject }) => unknown;
}

/** A complete machine: its name, JSON structure and implementations. */
export interface MachineDefinition extends MachineImplementation {
  name: string;
  /** The structure; for a machine written in code, its config with functions as source text. */
  config: MachineConfigJson;
  /**
   * The xstate machine itself, when it was written in code (`setup({...}).createMachine({...})`
   * with inline actions, guards, delays and actor logic). Its version hashes the config
   * and the source text of every implementation.
   */
  machine?: AnyStateMachine;
}

/**
 * A machine written in code: any machine xstate accepts. Invoked or spawned
 * `fromPromise` logic runs as a journaled activity, `fromCallback` logic as a
 * long-lived activity, machine logic as a durable child actor.
 */
export interface CodeMachineDefinition {
  name: string;
  machine: AnyStateMachine;
  /** Optional schemas; without `events`, every event type is accepted (as xstate does). */
  schemas?: MachineImplementation['schemas'];
  /** Spine activities by `src` name; they take the place of the machine's own actor of that name. */
  activities?: MachineImplementation['activities'];
}

/**
 * Declares a machine from its JSON structure and its implementations, or from an
 * xstate machine written in code.
 *
 * @example
 * defineMachine({ name: 'order', machine: setup({ actors: { charge } }).createMachine({ ... }) });
 */
export function defineMachine(definition: MachineDefinition | CodeMachineDefinition): MachineDefinition {
  return toMachineDefinition(definition);
}

/** Normalises either form of a definition to a `MachineDefinition`. */
export function toMachineDefinition(definition: MachineDefinition | CodeMachineDefinition): MachineDefinition {
  if ('config' in definition && definition.config) return definition;
  const { machine } = definition;
  if (!machine || typeof machine !== 'object' || !(machine as { __xstatenode?: unknown }).__xstatenode) {
    throw new TypeError(`Machine '${definition.name}' needs a JSON \`config\` or an xstate \`machine\` (from createMachine or setup().createMachine).`);
  }
  return { ...definition, schemas: definition.schemas ?? {}, config: machine.config as MachineConfigJson, machine };
}

/** Marks actions that send to durable actors; the host recognises them among the returned actions. */
export const DURABLE_SEND = Symbol.for('spine.durableSend');

/** Address of a durable send: an actor id, a child key of the sender, or the parent. */
export type DurableTarget = string | { parent: true } | ((args: { context: any; event: EventObject }) => string);

/** An event with its payload fields. */
export type PayloadEvent = EventObject & Record<string, unknown>;

/** The payload attached to a durable send action. */
export interface DurableSend {
  to: DurableTarget;
  event: PayloadEvent | ((args: { context: any; event: EventObject }) => PayloadEvent);
  delay?: number;
}

/**
 * An action that sends an event to another durable actor by id (or to a child key
 * of the sender). The message is written in the same transaction as the step.
 *
 * @example
 * actions: { requestDraft: sendToActor('writer', ({ context }) => ({ type: 'draft.requested', notes: context.notes })) }
 */
export function sendToActor(
  to: DurableTarget,
  event: DurableSend['event'],
  options: { delay?: number } = {},
): (...args: unknown[]) => void {
  const action = () => {};
  const send: DurableSend = { to, event };
  if (options.delay !== undefined) send.delay = options.delay;
  Object.defineProperty(action, DURABLE_SEND, { value: send });
  return action;
}

/** An action that sends an event to the durable actor that spawned this one. */
export function sendToParent(event: DurableSend['event']): (...args: unknown[]) => void {
  return sendToActor({ parent: true }, event);
}

/** Reads the durable send attached to an action implementation, if any. */
export function getDurableSend(exec: unknown): DurableSend | undefined {
  if (typeof exec !== 'function') return undefined;
  return (exec as unknown as Record<symbol, DurableSend | undefined>)[DURABLE_SEND];
}
