/**
 * How a machine's JSON structure is walked: its states (by path of keys) and the
 * transitions each state declares, named the same way by the validator, the
 * editor and the version checks. Browser-safe: no Node imports.
 */

/** A state node as it sits in the JSON structure. */
export type StateJson = Record<string, unknown> & {
  id?: string;
  type?: string;
  initial?: string | { target?: string; actions?: unknown };
  states?: Record<string, StateJson>;
};

/**
 * Which transition of a state: where it is declared (`on` with its event, `after`
 * with its delay, `always`, the state's `onDone`, or an invoke's `onDone` /
 * `onError`) and its index in that list (0 for a single transition).
 */
export interface TransitionRef {
  source: 'on' | 'after' | 'always' | 'onDone' | 'invoke.onDone' | 'invoke.onError';
  /** The event type (`on`) or the delay (`after`). */
  key?: string;
  /** The invoke's index in the state's `invoke` list. */
  invoke?: number;
  /** The index in that list; absent when an issue is about every transition of an event or delay. */
  index?: number;
}

/** One element of a machine: a state, or a transition of that state. */
export interface MachineElement {
  /** Keys from the root to the state; `[]` is the root. */
  state: string[];
  transition?: TransitionRef;
}

/** A transition as declared, with its targets, guard and actions read out. */
export interface TransitionEntry {
  ref: TransitionRef & { index: number };
  /** Where it is, in the dotted form issues use: `states.a.on.go`, `states.a.invoke[0].onDone`. */
  path: string;
  /** The declared value: a target string or a transition object. */
  raw: unknown;
  targets: unknown[];
  guard: unknown;
  actions: unknown[];
}

/** A state with its place in the tree. */
export interface StateInfo {
  path: string[];
  node: StateJson;
  parent: StateInfo | undefined;
  children: StateInfo[];
}

/** Values that may be one item or a list, as XState accepts them. */
export function toArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The dotted path of a state as issues name it: `states.a.states.b`, `(root)` for the root. */
export function statePathText(path: readonly string[]): string {
  return path.length ? `states.${path.join('.states.')}` : '(root)';
}

/** The transitions a state declares, in declaration order. */
export function transitionsOf(node: StateJson, path: readonly string[]): TransitionEntry[] {
  const at = statePathText(path);
  const out: TransitionEntry[] = [];
  const add = (value: unknown, ref: Omit<TransitionRef, 'index'>, where: string) => {
    toArray(value).forEach((raw, index) => {
      const t = typeof raw === 'string' ? { target: raw } : raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      out.push({ ref: { ...ref, index }, path: where, raw, targets: toArray(t.target), guard: t.guard, actions: toArray(t.actions) });
    });
  };
  for (const [event, value] of Object.entries(asRecord(node.on) ?? {})) add(value, { source: 'on', key: event }, `${at}.on.${event}`);
  for (const [delay, value] of Object.entries(asRecord(node.after) ?? {})) add(value, { source: 'after', key: delay }, `${at}.after.${delay}`);
  if (node.always !== undefined) add(node.always, { source: 'always' }, `${at}.always`);
  if (node.onDone !== undefined) add(node.onDone, { source: 'onDone' }, `${at}.onDone`);
  toArray(node.invoke).forEach((invoke, i) => {
    const inv = asRecord(invoke);
    if (inv?.onDone !== undefined) add(inv.onDone, { source: 'invoke.onDone', invoke: i }, `${at}.invoke[${i}].onDone`);
    if (inv?.onError !== undefined) add(inv.onError, { source: 'invoke.onError', invoke: i }, `${at}.invoke[${i}].onError`);
  });
  return out;
}

/** Every state of a machine, parents before children, with target resolution as XState does it. */
export class MachineIndex {
  readonly states: StateInfo[] = [];
  readonly root: StateInfo;
  /** States with an explicit `id`, by id (the first one wins; duplicates are listed in `duplicateIds`). */
  readonly byId = new Map<string, StateInfo>();
  readonly duplicateIds: StateInfo[] = [];
  readonly #byPath = new Map<string, StateInfo>();

  constructor(config: Record<string, unknown>) {
    const collect = (node: StateJson, path: string[], parent: StateInfo | undefined): StateInfo => {
      const info: StateInfo = { path, node, parent, children: [] };
      this.states.push(info);
      this.#byPath.set(path.join('\u0000'), info);
      if (typeof node.id === 'string') {
        if (this.byId.has(node.id)) this.duplicateIds.push(info);
        else this.byId.set(node.id, info);
      }
      for (const [name, child] of Object.entries(asRecord(node.states) ?? {})) {
        info.children.push(collect((asRecord(child) ?? {}) as StateJson, [...path, name], info));
      }
      return info;
    };
    this.root = collect(config as StateJson, [], undefined);
  }

  /** The state at a path of keys, if it exists. */
  get(path: readonly string[]): StateInfo | undefined {
    return this.#byPath.get(path.join('\u0000'));
  }

  /**
   * Resolves a transition target written in `from`: `#id.child`, `.child` (a
   * descendant), or `sibling.child` (a sibling, or a child of the root for root
   * transitions).
   */
  resolve(from: StateInfo, target: string): StateInfo | undefined {
    if (target.startsWith('#')) {
      const [id, ...rest] = target.slice(1).split('.');
      const base = this.byId.get(id!);
      return base && this.#descend(base, rest);
    }
    if (target.startsWith('.')) return this.#descend(from, target.slice(1).split('.'));
    const [first, ...rest] = target.split('.');
    const parent = from.parent ?? from;
    const sibling = parent.children.find((c) => c.path.at(-1) === first);
    return sibling && this.#descend(sibling, rest);
  }

  #descend(from: StateInfo, names: string[]): StateInfo | undefined {
    let current: StateInfo | undefined = from;
    for (const name of names) current = current?.children.find((c) => c.path.at(-1) === name);
    return current;
  }
}

/** The value as a plain object, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The name of an action, guard or delay reference (`'name'` or `{ type: 'name', params }`). */
export function referenceName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const type = asRecord(value)?.type;
  return typeof type === 'string' ? type : undefined;
}

/** Every name a machine structure refers to: what its implementation must provide. */
export interface MachineNames {
  actions: string[];
  guards: string[];
  delays: string[];
  /** Invoked `src` names: activities, or other machines. */
  activities: string[];
  /** Event types of `on` transitions (reserved `xstate.*` / `spine.*` ones left out). */
  events: string[];
}

/** Lists the names a machine structure refers to, each once, in first-use order. */
export function machineNames(config: Record<string, unknown>): MachineNames {
  const sets = { actions: new Set<string>(), guards: new Set<string>(), delays: new Set<string>(), activities: new Set<string>(), events: new Set<string>() };
  const addActions = (list: unknown) => {
    for (const a of toArray(list)) {
      const name = referenceName(a);
      if (name) sets.actions.add(name);
    }
  };
  for (const state of new MachineIndex(config).states) {
    const node = state.node;
    addActions(node.entry);
    addActions(node.exit);
    for (const event of Object.keys(asRecord(node.on) ?? {})) if (!isReservedEvent(event) && event !== '*') sets.events.add(event);
    for (const delay of Object.keys(asRecord(node.after) ?? {})) if (!/^\d+$/.test(delay)) sets.delays.add(delay);
    for (const invoke of toArray(node.invoke)) {
      const src = asRecord(invoke)?.src;
      if (typeof src === 'string') sets.activities.add(src);
    }
    for (const t of transitionsOf(node, state.path)) {
      const guard = referenceName(t.guard);
      if (guard) sets.guards.add(guard);
      addActions(t.actions);
    }
  }
  return { actions: [...sets.actions], guards: [...sets.guards], delays: [...sets.delays], activities: [...sets.activities], events: [...sets.events] };
}

/** Event types the runtime itself delivers (`xstate.*`, `spine.*`): never in a machine's schemas. */
export function isReservedEvent(type: string): boolean {
  return /^(xstate|spine|done|error)\./.test(type);
}
