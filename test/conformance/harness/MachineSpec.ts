import type { Activity, ActivityContext, MachineDefinition } from '@spine/runtime';
import { fromPromise, setup, type AnyStateMachine, type EventObject } from 'xstate';
import { z } from 'zod';

/**
 * One machine of the corpus in the form both hosts can take: a JSON structure whose
 * actions, guards, delays and invoked `src` are names, and the implementations of
 * those names. The in-memory oracle builds it with `setup(...).createMachine(...)`;
 * the durable side registers it with `defineMachine` (and its `children` as machines).
 */
export interface MachineSpec {
  name: string;
  config: Record<string, unknown>;
  actions?: Record<string, unknown>;
  guards?: Record<string, unknown>;
  delays?: Record<string, number | ((args: any) => number)>;
  activities?: Record<string, Activity>;
  /** Initial context from the input (a function, as JSON configs cannot hold one). */
  context?: (input: any) => Record<string, unknown>;
  output?: (args: { context: any; event: EventObject }) => unknown;
  /** xstate actor logic by name (callbacks): both hosts get it, the durable JSON form as its `actors`. */
  actors?: Record<string, unknown>;
  /** Machines this one invokes or spawns by name. */
  children?: MachineSpec[];
}

/** An input to a case: start, an event, or the clock moving forward. */
export type CaseInput = { kind: 'event'; event: EventObject & Record<string, unknown> } | { kind: 'advance'; ms: number };

/** A machine plus the inputs to drive it with. */
export interface ConformanceCase {
  /** Unique, stable: `scxml/<group>/<test>` or `xstate/<file>/<what>`. */
  name: string;
  /** Where the machine comes from (a public suite's file and test). */
  source: string;
  spec: MachineSpec;
  input?: unknown;
  inputs: CaseInput[];
  /** After the inputs, keep moving the clock to each next timer (at most this many times). */
  drainTimers?: number;
  /** What the fixture itself expects at the end (SCXML: configuration ids), checked on the oracle only. */
  expectedConfiguration?: string[];
}

/** Every machine of a spec, the spec first, then its children depth-first. */
export function allSpecs(spec: MachineSpec): MachineSpec[] {
  return [spec, ...(spec.children ?? []).flatMap(allSpecs)];
}

/** Builds the in-memory machine exactly as Spine's registry builds its durable one, but with live actors. */
export function toXStateMachine(
  spec: MachineSpec,
  starts: string[] = [],
  options: { beforeActivity?: (src: string) => Promise<void> } = {},
  built = new Map<string, AnyStateMachine>(),
): AnyStateMachine {
  const existing = built.get(spec.name);
  if (existing) return existing;
  const actors: Record<string, unknown> = { ...spec.actors };
  for (const [src, activity] of Object.entries(spec.activities ?? {})) {
    actors[src] = fromPromise(async ({ input, signal }) => {
      starts.push(src);
      await options.beforeActivity?.(src);
      return activity.run(input, oracleActivityContext(spec.name, src, signal));
    });
  }
  for (const child of spec.children ?? []) actors[child.name] = toXStateMachine(child, starts, options, built);
  const config = withMappedInputs(spec.config, spec.activities ?? {}) as Record<string, unknown>;
  if (spec.context) {
    const makeContext = spec.context;
    config.context = ({ input }: { input: unknown }) => makeContext(input);
  }
  if (spec.output) config.output = spec.output;
  const machine = setup({ actions: spec.actions ?? {}, guards: spec.guards ?? {}, delays: spec.delays ?? {}, actors } as any).createMachine(
    config as any,
  ) as AnyStateMachine;
  built.set(spec.name, machine);
  return machine;
}

/** Spine's `mapInput` builds an activity's input from the invoking context; xstate's invoke `input` function does the same. */
function withMappedInputs(node: unknown, activities: Record<string, Activity>): unknown {
  if (Array.isArray(node)) return node.map((n) => withMappedInputs(n, activities));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === 'invoke' ? value : withMappedInputs(value, activities);
  const invoke = (node as { invoke?: unknown }).invoke;
  if (invoke !== undefined) {
    out.invoke = (Array.isArray(invoke) ? invoke : [invoke]).map((inv: { src?: string; input?: unknown }) => {
      const mapInput = typeof inv.src === 'string' ? activities[inv.src]?.mapInput : undefined;
      if (!mapInput) return inv;
      const staticInput = inv.input;
      return { ...inv, input: ({ context, event }: { context: unknown; event: EventObject }) => mapInput({ context, event, input: staticInput }) };
    });
  }
  return out;
}

/** The spec and its children as Spine machine definitions; every activity start is pushed to `starts`. */
export function toDefinitions(spec: MachineSpec, starts: string[] = [], options: { beforeActivity?: (src: string) => Promise<void> } = {}): MachineDefinition[] {
  const seen = new Set<string>();
  const out: MachineDefinition[] = [];
  for (const s of allSpecs(spec)) {
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    const definition: MachineDefinition = {
      name: s.name,
      config: s.config,
      schemas: { events: anyEvent },
      actions: s.actions ?? {},
      guards: s.guards ?? {},
      delays: s.delays ?? {},
      activities: Object.fromEntries(
        Object.entries(s.activities ?? {}).map(([src, activity]) => [
          src,
          {
            ...activity,
            run: async (input: unknown, ctx: Parameters<Activity['run']>[1]) => {
              starts.push(src);
              await options.beforeActivity?.(src);
              return activity.run(input, ctx);
            },
          },
        ]),
      ),
    };
    if (s.actors) definition.actors = s.actors as NonNullable<MachineDefinition['actors']>;
    if (s.context) definition.context = s.context;
    if (s.output) definition.output = s.output;
    out.push(definition);
  }
  return out;
}

/** What an activity sees when the oracle runs it as a plain promise (no journal, no durable mailbox). */
function oracleActivityContext(machine: string, childId: string, signal: AbortSignal): ActivityContext {
  return {
    key: `oracle:${machine}:${childId}`,
    attempt: 1,
    actorId: 'oracle',
    runId: 'oracle',
    machine,
    childId,
    signal,
    context: undefined,
    now: () => 0,
    record: () => {},
    previousAttempts: [],
    runJournal: async () => [],
    progress: () => {},
    watched: false,
    send: async () => {
      throw new Error('the conformance corpus has no activity that sends to its actor');
    },
  };
}

/**
 * xstate takes any event; Spine takes only declared ones. The corpus declares none, so
 * every machine accepts every event type with any payload (the comparison is about the
 * host, not about schemas).
 */
const anyPayload = z.looseObject({});
const anyEvent: Record<string, z.ZodType> = new Proxy({} as Record<string, z.ZodType>, {
  get: (_target, key) => (typeof key === 'string' ? anyPayload : undefined),
  has: (_target, key) => typeof key === 'string',
  getOwnPropertyDescriptor: (_target, key) => (typeof key === 'string' ? { value: anyPayload, enumerable: true, configurable: true, writable: false } : undefined),
});
