import {
  createActor,
  fromCallback,
  fromEventObservable,
  fromObservable,
  fromPromise,
  type AnyActorLogic,
  type AnyActorRef,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
} from 'xstate';
import { contentHash } from './canonicalJson.js';
import type { ExecutableAction } from './step/planStep.js';

/**
 * What the host does with an actor logic it finds in a machine: a promise runs as a
 * journaled activity, a callback as a long-lived activity, a machine as a durable child.
 */
export type LogicKind = 'promise' | 'callback' | 'machine' | 'unsupported';

const probeScope = () => ({ self: {}, system: {}, defer() {}, emit() {}, stopChild() {}, actionExecutor() {} }) as never;
const callbackText = String(fromCallback(() => {}).transition);
const promiseText = String(fromPromise(async () => {}).transition);
const noSubscription = () => ({ subscribe: () => ({ unsubscribe() {} }) }) as never;
// Observables share the callback's shape (a per-instance subscription); tell them apart by their text first.
const observableTexts = new Set([String(fromObservable(noSubscription).transition), String(fromEventObservable(noSubscription).transition)]);

/** Tells which kind of xstate logic an actor `src` resolves to. */
export function logicKind(logic: unknown): LogicKind {
  if (!logic || typeof logic !== 'object') return 'unsupported';
  const candidate = logic as Partial<AnyActorLogic> & { __xstatenode?: boolean; config?: unknown };
  if (candidate.__xstatenode === true) return 'machine';
  if (typeof candidate.transition !== 'function' || typeof candidate.config !== 'function') return 'unsupported';
  const text = String(candidate.transition);
  if (text === promiseText) return 'promise';
  if (text === callbackText) return 'callback';
  if (observableTexts.has(text)) return 'unsupported';
  // Another copy of xstate: tell the two apart by behaviour.
  try {
    const next = candidate.transition({ status: 'active', input: undefined } as never, { type: 'xstate.promise.resolve', data: 1 } as never, probeScope()) as { status?: string };
    if (next.status === 'done') return 'promise';
  } catch {
    /* not a promise */
  }
  try {
    candidate.transition({ status: 'active' } as never, { type: 'xstate.stop' } as never, probeScope());
  } catch {
    return 'callback'; // a callback keeps per-instance state the probe scope does not have
  }
  return 'unsupported';
}

/**
 * Every actor logic a machine can invoke or spawn by name: its `setup({ actors })`
 * and the inline `invoke.src` of each state (named as xstate names them,
 * `xstate.invoke.<index>.<stateId>`).
 */
export function machineActors(machine: AnyStateMachine): Map<string, AnyActorLogic> {
  const actors = new Map<string, AnyActorLogic>();
  for (const [key, logic] of Object.entries(machine.implementations.actors ?? {})) {
    if (logic && typeof logic === 'object') actors.set(key, logic as AnyActorLogic);
  }
  const visit = (node: AnyStateMachine['root']) => {
    const configured = node.config.invoke;
    const list = configured === undefined ? [] : Array.isArray(configured) ? configured : [configured];
    node.invoke.forEach((invoke, index) => {
      const src = (list[index] as { src?: unknown } | undefined)?.src;
      if (src && typeof src === 'object' && !actors.has(invoke.src as string)) actors.set(invoke.src as string, src as AnyActorLogic);
    });
    for (const child of Object.values(node.states ?? {})) visit(child as AnyStateMachine['root']);
  };
  visit(machine.root);
  return actors;
}

/**
 * The config of a machine written in code, as JSON: functions become their source
 * text and actor logic its kind and source, so equal code gives equal text.
 */
export function codeConfig(machine: AnyStateMachine): Record<string, unknown> {
  return toSourceJson(machine.config, new WeakSet()) as Record<string, unknown>;
}

/**
 * The version of a machine written in code: a hash of its config and the source
 * text of every implementation (actions, guards, actors, delays).
 */
export function codeVersion(machine: AnyStateMachine): string {
  const seen = new WeakSet<object>();
  const { actions, guards, actors, delays } = machine.implementations;
  return contentHash({
    config: toSourceJson(machine.config, seen),
    implementations: toSourceJson({ actions, guards, actors, delays }, seen),
  });
}

function toSourceJson(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'function') {
    const extra: Record<string, unknown> = {};
    // Built-in actions (assign, raise, sendTo, ...) keep their arguments on the function.
    for (const key of Object.keys(value)) extra[key] = toSourceJson((value as unknown as Record<string, unknown>)[key], seen);
    return Object.keys(extra).length ? { fn: String(value), ...extra } : `fn:${String(value)}`;
  }
  if (!value || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if ((value as { __xstatenode?: boolean }).__xstatenode) {
      const machine = value as AnyStateMachine;
      const { actions, guards, actors, delays } = machine.implementations;
      return { machine: toSourceJson(machine.config, seen), implementations: toSourceJson({ actions, guards, actors, delays }, seen) };
    }
    if (typeof (value as { transition?: unknown }).transition === 'function' && 'config' in value) {
      return { logic: logicKind(value), source: toSourceJson((value as { config: unknown }).config, seen) };
    }
    if (Array.isArray(value)) return value.map((v) => toSourceJson(v, seen));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = toSourceJson(v, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * Stands for a durable actor's parent inside `transition()`: xstate's `sendParent`
 * resolves to it, and the planner turns a send to it into a message to the parent row.
 */
export const DURABLE_PARENT: AnyActorRef = Object.freeze({
  id: '#_parent',
  sessionId: 'spine.durable-parent',
  send() {},
  getSnapshot() {
    return undefined;
  },
  getPersistedSnapshot() {
    return undefined;
  },
  subscribe() {
    return { unsubscribe() {} };
  },
  on() {
    return { unsubscribe() {} };
  },
  start() {},
  stop() {},
  toJSON() {
    return { xstate$$type: 1, id: '#_parent' };
  },
}) as unknown as AnyActorRef;

const systemDonor = fromPromise(async () => undefined);

/**
 * The never-started actor that stands for `self` in a transition, one per machine and kind
 * (with a durable parent or without): `createActor` computes the machine's initial snapshot,
 * which costs as much as a step, and nothing in a transition changes `self` but its system,
 * which `hostScope` replaces every time.
 */
const selves = new WeakMap<AnyStateMachine, { root?: AnyActorRef; child?: AnyActorRef }>();

function selfOf(machine: AnyStateMachine, hasParent: boolean): AnyActorRef {
  let kinds = selves.get(machine);
  if (!kinds) selves.set(machine, (kinds = {}));
  const kind = hasParent ? 'child' : 'root';
  let self = kinds[kind];
  if (!self) {
    self = createActor(machine);
    if (hasParent) (self as unknown as { _parent: AnyActorRef })._parent = DURABLE_PARENT;
    // As xstate's own `transition()`: a system of its own, so children registered by the eager
    // initial snapshot of `createActor` do not collide with those of the real transition.
    lendFreshSystem(self);
    kinds[kind] = self;
  }
  return self;
}

/**
 * After a transition: the system `self` lends the next one stays only while no child was
 * registered in it by system id (a child spawned with `systemId`), which the next transition
 * would collide with; otherwise `self` gets a fresh one (xstate's `transition()` makes one every
 * time; reusing it saves an actor and a system a step).
 */
function settleSystem(self: AnyActorRef): void {
  const system = self.system as unknown as { getAll(): Record<string, unknown> };
  if (Object.keys(system.getAll()).length) lendFreshSystem(self);
}

/** Gives `self` a new, empty system (a never-started donor actor's). */
function lendFreshSystem(self: AnyActorRef): void {
  (self as unknown as { system: unknown }).system = createActor(systemDonor).system;
}

/** Runs `run` with the scope a transition of `machine` gets; the system it lent is settled after (see `settleSystem`). */
function inHostScope(machine: AnyStateMachine, hasParent: boolean, run: (scope: never) => AnyMachineSnapshot): [AnyMachineSnapshot, ExecutableAction[]] {
  const actions: ExecutableAction[] = [];
  const scope = hostScope(machine, hasParent, actions);
  try {
    return [run(scope as never), actions];
  } finally {
    settleSystem(scope.self);
  }
}

function hostScope(machine: AnyStateMachine, hasParent: boolean, actions: ExecutableAction[]) {
  const self = selfOf(machine, hasParent);
  const system = self.system;
  return {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system,
    emit: () => {},
    actionExecutor: (action: ExecutableAction) => {
      actions.push(action);
    },
  };
}

/**
 * xstate's pure `transition()`, with one difference: a durable child sees a parent,
 * so `sendParent` resolves (to {@link DURABLE_PARENT}) instead of failing.
 */
export function hostTransition(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
  options: { hasParent: boolean },
): [AnyMachineSnapshot, ExecutableAction[]] {
  return inHostScope(machine, options.hasParent, (scope) => machine.transition(snapshot, event, scope) as AnyMachineSnapshot);
}

/** xstate's pure `initialTransition()`, with a parent for durable children (see {@link hostTransition}). */
export function hostInitialTransition(machine: AnyStateMachine, input: unknown, options: { hasParent: boolean }): [AnyMachineSnapshot, ExecutableAction[]] {
  return inHostScope(machine, options.hasParent, (scope) => machine.getInitialSnapshot(scope, input) as AnyMachineSnapshot);
}
