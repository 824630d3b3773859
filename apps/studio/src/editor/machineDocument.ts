/**
 * Edits of a machine's JSON structure as pure functions: each takes the
 * document and returns a new one, sharing every untouched part and keeping key
 * order, so an unchanged part serialises byte-identical and undo is a pointer swap.
 * The document is the `.machine.json` value itself; nothing is normalised on load.
 */
import { asRecord, MachineIndex, toArray, transitionsOf, type MachineConfigJson, type StateInfo, type TransitionRef } from '@spine/runtime/editing';

/** A machine document: the JSON structure of `<name>.machine.json`. */
export type MachineDoc = MachineConfigJson;
type Json = Record<string, unknown>;
type Key = string | number;

/** The kinds of state the editor offers. */
export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final';

/** Where transitions of a state live, by the ref's `source`. */
export type TransitionSource = TransitionRef['source'];

/** A transition as the inspector edits it. */
export interface TransitionFields {
  source: TransitionSource;
  /** Event type (`on`) or delay (`after`: milliseconds as digits, or a named delay). */
  key?: string;
  invoke?: number;
  /** One target, as written (`sibling`, `.child`, `#id`); undefined for a targetless transition. */
  target?: string;
  /** A guard name (params are kept when only the name is unchanged). */
  guard?: string;
  actions: string[];
  /** Params of the guard and of each action, as written (`{ type, params }`); read-only here, set with `setReferenceParams`. */
  guardParams?: Record<string, unknown>;
  actionParams?: (Record<string, unknown> | undefined)[];
}

// ---- paths ------------------------------------------------------------------------

/** The JSON keys of a state: `['a', 'b']` -> `['states', 'a', 'states', 'b']`. */
export function stateKeys(path: readonly string[]): string[] {
  return path.flatMap((k) => ['states', k]);
}

/** The value at a key path, if any. */
export function getIn(value: unknown, keys: readonly Key[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<Key, unknown>)[key];
  }
  return current;
}

/**
 * A copy with the value at `keys` replaced (removed when `value` is undefined),
 * sharing everything else; missing objects on the way are created. Key order is kept.
 */
export function setIn<T>(target: T, keys: readonly Key[], value: unknown): T {
  if (!keys.length) return value as T;
  const [key, ...rest] = keys;
  const current = target as unknown;
  if (Array.isArray(current) && typeof key === 'number') {
    const copy = current.slice();
    const next = setIn(copy[key], rest, value);
    if (next === undefined && !rest.length) copy.splice(key, 1);
    else copy[key] = next;
    return copy as T;
  }
  const object = (current && typeof current === 'object' ? current : {}) as Json;
  const next = rest.length ? setIn(object[key as string], rest, value) : value;
  if (next === object[key as string] && (next !== undefined || !(key as string in object))) return target;
  const copy: Json = {};
  let placed = false;
  for (const [k, v] of Object.entries(object)) {
    if (k === key) {
      placed = true;
      if (next !== undefined) copy[k] = next;
    } else copy[k] = v;
  }
  if (!placed && next !== undefined) copy[key as string] = next;
  return copy as T;
}

/** A copy of an object with one key renamed in place. */
function renameKey(object: Json, from: string, to: string): Json {
  const copy: Json = {};
  for (const [k, v] of Object.entries(object)) copy[k === from ? to : k] = v;
  return copy;
}

/** The state node at a path, if it exists. */
export function stateAt(doc: MachineDoc, path: readonly string[]): Json | undefined {
  return asRecord(getIn(doc, stateKeys(path)));
}

/** Why a state name is not usable among its siblings, or undefined when it is. */
export function badStateName(doc: MachineDoc, parent: readonly string[], name: string, except?: string): string | undefined {
  if (!name.trim()) return 'A state needs a name.';
  if (name !== name.trim()) return 'A state name cannot start or end with spaces.';
  if (/[.#]/.test(name)) return "A state name cannot contain '.' or '#' (they are target syntax).";
  if (name !== except && asRecord(stateAt(doc, parent)?.states)?.[name] !== undefined) return `There already is a state '${name}' here.`;
  return undefined;
}

/** A fresh child name: `base`, `base2`, `base3`, … */
export function freeStateName(doc: MachineDoc, parent: readonly string[], base = 'state'): string {
  const taken = asRecord(stateAt(doc, parent)?.states) ?? {};
  if (!(base in taken)) return base;
  for (let i = 2; ; i++) if (!(`${base}${i}` in taken)) return `${base}${i}`;
}

// ---- states -----------------------------------------------------------------------

/** The kind of a state as the editor shows it. */
export function stateKind(node: Json | undefined): StateKind {
  if (node?.type === 'final') return 'final';
  if (node?.type === 'parallel') return 'parallel';
  return Object.keys(asRecord(node?.states) ?? {}).length ? 'compound' : 'atomic';
}

/**
 * Adds a state under `parent` (the root by default). The parent's first child
 * becomes its initial state (unless the parent is parallel).
 */
export function addState(doc: MachineDoc, parent: readonly string[], name: string, kind: StateKind = 'atomic'): MachineDoc {
  const problem = badStateName(doc, parent, name);
  if (problem) throw new Error(problem);
  const parentNode = stateAt(doc, parent) ?? {};
  const node: Json = kind === 'final' ? { type: 'final' } : kind === 'parallel' ? { type: 'parallel', states: {} } : {};
  let next = setIn(doc, [...stateKeys(parent), 'states', name], node);
  if (parentNode.type !== 'parallel' && typeof parentNode.initial !== 'string') {
    // `initial` sits before `states` in hand-written machines; put it there.
    const updated = stateAt(next, parent)!;
    const reordered: Json = {};
    for (const [k, v] of Object.entries(updated)) {
      if (k === 'states') reordered.initial = name;
      reordered[k] = v;
    }
    next = setIn(next, stateKeys(parent), reordered);
  }
  return next;
}

/** Sets a state's kind. A state with children cannot become final; making one atomic keeps its children (compound). */
export function setStateKind(doc: MachineDoc, path: readonly string[], kind: StateKind): MachineDoc {
  const node = stateAt(doc, path);
  if (!node) return doc;
  const hasChildren = Object.keys(asRecord(node.states) ?? {}).length > 0;
  if (kind === 'final' && hasChildren) throw new Error('A state with child states cannot be final; delete or move its children first.');
  let next = doc;
  const keys = stateKeys(path);
  if (kind === 'final') next = setIn(next, [...keys, 'type'], 'final');
  else if (kind === 'parallel') {
    next = setIn(next, [...keys, 'type'], 'parallel');
    next = setIn(next, [...keys, 'initial'], undefined);
  } else {
    next = setIn(next, [...keys, 'type'], undefined);
    const children = Object.keys(asRecord(node.states) ?? {});
    if (kind === 'compound' && children.length && typeof node.initial !== 'string') next = setIn(next, [...keys, 'initial'], children[0]);
  }
  return next;
}

/** Makes `child` the initial state of `parent`. */
export function setInitial(doc: MachineDoc, parent: readonly string[], child: string): MachineDoc {
  return setIn(doc, [...stateKeys(parent), 'initial'], child);
}

/** Sets (or, when empty, removes) a state's tags. */
export function setTags(doc: MachineDoc, path: readonly string[], tags: string[]): MachineDoc {
  const clean = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
  return setIn(doc, [...stateKeys(path), 'tags'], clean.length ? clean : undefined);
}

/** Sets (or removes) a state's risk tier, `meta.risk`; an empty `meta` is removed. */
export function setRisk(doc: MachineDoc, path: readonly string[], risk: 'low' | 'medium' | 'high' | undefined): MachineDoc {
  const keys = stateKeys(path);
  let next = setIn(doc, [...keys, 'meta', 'risk'], risk);
  if (!Object.keys(asRecord(getIn(next, [...keys, 'meta'])) ?? {}).length) next = setIn(next, [...keys, 'meta'], undefined);
  return next;
}

/** Sets a state's entry or exit actions (removed when empty; one action is written as a string). */
export function setStateActions(doc: MachineDoc, path: readonly string[], which: 'entry' | 'exit', actions: string[]): MachineDoc {
  const old = toArray(stateAt(doc, path)?.[which]);
  const list = actions.map((name) => old.find((a) => asRecord(a)?.type === name) ?? name); // keep params of actions that stay
  return setIn(doc, [...stateKeys(path), which], list.length === 0 ? undefined : list.length === 1 ? list[0] : list);
}

/** The invokes of a state as a list (`invoke` may hold one object or a list). */
export function invokesOf(node: Json | undefined): Json[] {
  return toArray(node?.invoke).map((i) => asRecord(i) ?? {});
}

/** Adds an invoked activity (or machine) to a state; its id defaults to a free variant of the src. */
export function addInvoke(doc: MachineDoc, path: readonly string[], src: string): MachineDoc {
  const node = stateAt(doc, path);
  const existing = invokesOf(node);
  const ids = new Set(existing.map((i) => i.id));
  let id = src;
  for (let n = 2; ids.has(id); n++) id = `${src}${n}`;
  const invoke = { id, src };
  const keys = [...stateKeys(path), 'invoke'];
  if (node?.invoke === undefined) return setIn(doc, keys, invoke);
  return setIn(doc, keys, [...existing, invoke]);
}

/** Changes one invoke's src (and id, if it still equals the old src). */
export function setInvokeSrc(doc: MachineDoc, path: readonly string[], index: number, src: string): MachineDoc {
  const node = stateAt(doc, path);
  const keys = Array.isArray(node?.invoke) ? [...stateKeys(path), 'invoke', index] : [...stateKeys(path), 'invoke'];
  const invoke = asRecord(getIn(doc, keys)) ?? {};
  let next = setIn(doc, [...keys, 'src'], src);
  if (invoke.id === invoke.src) next = setIn(next, [...keys, 'id'], src);
  return next;
}

/** Removes one invoke (with its onDone / onError transitions). */
export function removeInvoke(doc: MachineDoc, path: readonly string[], index: number): MachineDoc {
  const node = stateAt(doc, path);
  const keys = [...stateKeys(path), 'invoke'];
  if (!Array.isArray(node?.invoke)) return setIn(doc, keys, undefined);
  const rest = (node.invoke as unknown[]).filter((_, i) => i !== index);
  return setIn(doc, keys, rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : rest);
}

/**
 * Renames a state, and rewrites everything that named it: its parent's
 * `initial` and every transition target that resolves into it (each keeps its
 * style: sibling, `.child` or `#id`).
 */
export function renameState(doc: MachineDoc, path: readonly string[], name: string): MachineDoc {
  const old = path.at(-1);
  if (old === undefined || old === name) return doc;
  const parent = path.slice(0, -1);
  const problem = badStateName(doc, parent, name, old);
  if (problem) throw new Error(problem);
  const index = new MachineIndex(doc);
  const depth = path.length - 1; // index of the renamed key in a state path
  const rewrites: { keys: Key[]; from: string; to: string }[] = [];
  forEachTarget(doc, index, (state, keys, target, resolved) => {
    if (!resolved || !startsWith(resolved.path, path)) return;
    const [base, segments, prefix] = splitTarget(index, state, target);
    if (!base) return;
    const at = depth - base.length;
    if (at < 0 || at >= segments.length) return;
    const copy = segments.slice();
    copy[at] = name;
    rewrites.push({ keys, from: target, to: prefix + copy.join('.') });
  });
  let next = doc;
  for (const r of rewrites) next = setIn(next, r.keys, r.to);
  const parentKeys = stateKeys(parent);
  const states = asRecord(getIn(next, [...parentKeys, 'states'])) ?? {};
  next = setIn(next, [...parentKeys, 'states'], renameKey(states, old, name));
  if (getIn(next, [...parentKeys, 'initial']) === old) next = setIn(next, [...parentKeys, 'initial'], name);
  return next;
}

/**
 * Deletes a state and its children, and every transition that led into them
 * (a transition with other targets keeps those). The parent's initial state
 * moves to its first remaining child.
 */
export function deleteState(doc: MachineDoc, path: readonly string[]): MachineDoc {
  if (!path.length) return doc;
  const index = new MachineIndex(doc);
  const doomed: { keys: Key[]; target: string }[] = [];
  forEachTarget(doc, index, (state, keys, target, resolved) => {
    if (startsWith(state.path, path)) return; // goes with the state
    if (resolved && startsWith(resolved.path, path)) doomed.push({ keys, target });
  });
  let next = doc;
  // Remove from the end, so earlier indexes stay valid.
  for (const { keys } of doomed.reverse()) next = removeTargetAt(next, keys);
  const parent = path.slice(0, -1);
  const parentKeys = stateKeys(parent);
  next = setIn(next, [...parentKeys, 'states', path.at(-1)!], undefined);
  const remaining = Object.keys(asRecord(getIn(next, [...parentKeys, 'states'])) ?? {});
  if (getIn(next, [...parentKeys, 'initial']) === path.at(-1)) next = setIn(next, [...parentKeys, 'initial'], remaining[0]);
  if (!remaining.length && parent.length) next = setIn(next, [...parentKeys, 'states'], undefined);
  return next;
}

// ---- transitions --------------------------------------------------------------------

/** The JSON keys of the list a transition ref points into. */
export function transitionListKeys(doc: MachineDoc, state: readonly string[], ref: Omit<TransitionRef, 'index'>): Key[] {
  const keys = stateKeys(state);
  switch (ref.source) {
    case 'on':
      return [...keys, 'on', ref.key!];
    case 'after':
      return [...keys, 'after', ref.key!];
    case 'always':
      return [...keys, 'always'];
    case 'onDone':
      return [...keys, 'onDone'];
    default: {
      const invokeKeys: Key[] = Array.isArray(stateAt(doc, state)?.invoke) ? [...keys, 'invoke', ref.invoke ?? 0] : [...keys, 'invoke'];
      return [...invokeKeys, ref.source === 'invoke.onDone' ? 'onDone' : 'onError'];
    }
  }
}

/** The raw transitions of a list, as an array. */
function listAt(doc: MachineDoc, keys: Key[]): unknown[] {
  return toArray(getIn(doc, keys));
}

/** Writes a transition list back: removed when empty (with an emptied `on`/`after`), one item unwrapped. */
function writeList(doc: MachineDoc, keys: Key[], items: unknown[], wasArray: boolean): MachineDoc {
  let next = setIn(doc, keys, items.length === 0 ? undefined : items.length === 1 && !wasArray ? items[0] : items);
  const container = keys.at(-2);
  if (items.length === 0 && (container === 'on' || container === 'after')) {
    const parentKeys = keys.slice(0, -1);
    if (!Object.keys(asRecord(getIn(next, parentKeys)) ?? {}).length) next = setIn(next, parentKeys, undefined);
  }
  return next;
}

/** Reads one transition for the inspector. */
export function readTransition(doc: MachineDoc, state: readonly string[], ref: TransitionRef): TransitionFields | undefined {
  const raw = listAt(doc, transitionListKeys(doc, state, ref))[ref.index ?? 0];
  if (raw === undefined) return undefined;
  const t = typeof raw === 'string' ? { target: raw } : (asRecord(raw) ?? {});
  const target = toArray(t.target)[0];
  const guard = typeof t.guard === 'string' ? t.guard : (asRecord(t.guard)?.type as string | undefined);
  const references = toArray(t.actions).filter((a) => typeof a === 'string' || typeof asRecord(a)?.type === 'string');
  const actions = references.map((a) => (typeof a === 'string' ? a : (asRecord(a)!.type as string)));
  const actionParams = references.map(paramsOf);
  const guardParams = paramsOf(t.guard);
  return {
    source: ref.source,
    ...(ref.key !== undefined ? { key: ref.key } : {}),
    ...(ref.invoke !== undefined ? { invoke: ref.invoke } : {}),
    ...(typeof target === 'string' ? { target } : {}),
    ...(guard !== undefined ? { guard } : {}),
    actions,
    ...(guardParams ? { guardParams } : {}),
    ...(actionParams.some(Boolean) ? { actionParams } : {}),
  };
}

/**
 * Adds a transition from `state` to the state at `to` (written relative, as a
 * person would: `sibling`, `.child`, `#id`). Returns the new document and the ref of the transition.
 */
export function addTransition(
  doc: MachineDoc,
  state: readonly string[],
  to: readonly string[] | undefined,
  where: Omit<TransitionRef, 'index'>,
): { doc: MachineDoc; ref: TransitionRef & { index: number } } {
  const keys = transitionListKeys(doc, state, where);
  const current = getIn(doc, keys);
  const items = toArray(current);
  const transition = to ? { target: targetText(doc, state, to) } : {};
  const next = writeList(doc, keys, [...items, transition], Array.isArray(current) || items.length > 0);
  return { doc: next, ref: { ...where, index: items.length } };
}

/**
 * Updates one transition in place (a bare target string stays a string while
 * it has only a target). Changing `source`, `key` or `invoke` moves it to the
 * end of that list. Returns the new document and the transition's ref.
 */
export function updateTransition(
  doc: MachineDoc,
  state: readonly string[],
  ref: TransitionRef,
  fields: Partial<TransitionFields>,
): { doc: MachineDoc; ref: TransitionRef & { index: number } } {
  const index = ref.index ?? 0;
  const keys = transitionListKeys(doc, state, ref);
  const current = getIn(doc, keys);
  const items = toArray(current);
  const raw = items[index];
  if (raw === undefined) return { doc, ref: { ...ref, index } };
  let object: Json = typeof raw === 'string' ? { target: raw } : { ...(asRecord(raw) ?? {}) };
  if ('target' in fields) object = setIn(object, ['target'], fields.target || undefined);
  if ('guard' in fields) {
    const old = object.guard;
    const keepParams = asRecord(old) && asRecord(old)!.type === fields.guard;
    object = setIn(object, ['guard'], fields.guard ? (keepParams ? old : fields.guard) : undefined);
  }
  if ('actions' in fields) {
    const old = toArray(object.actions);
    const list = (fields.actions ?? []).map((name) => old.find((a) => asRecord(a)?.type === name) ?? name);
    object = setIn(object, ['actions'], list.length === 0 ? undefined : list.length === 1 ? list[0] : list);
  }
  const value: unknown = typeof raw === 'string' && Object.keys(object).length === 1 && typeof object.target === 'string' ? object.target : object;
  const moved = fields.source !== undefined && (fields.source !== ref.source || fields.key !== ref.key || fields.invoke !== ref.invoke);
  if (!moved) {
    const copy = items.slice();
    copy[index] = value;
    return { doc: writeList(doc, keys, copy, Array.isArray(current)), ref: { ...ref, index } };
  }
  const where: Omit<TransitionRef, 'index'> = {
    source: fields.source!,
    ...(fields.key !== undefined ? { key: fields.key } : {}),
    ...(fields.invoke !== undefined ? { invoke: fields.invoke } : {}),
  };
  let next = writeList(
    doc,
    keys,
    items.filter((_, i) => i !== index),
    Array.isArray(current),
  );
  const targetKeys = transitionListKeys(next, state, where);
  const existing = getIn(next, targetKeys);
  const targetItems = toArray(existing);
  next = writeList(next, targetKeys, [...targetItems, value], Array.isArray(existing) || targetItems.length > 0);
  return { doc: next, ref: { ...where, index: targetItems.length } };
}

/**
 * Sets the params of one action of a transition (`{ type, params }`), or of its
 * guard (`which: 'guard'`); undefined params write the bare name again.
 */
export function setReferenceParams(
  doc: MachineDoc,
  state: readonly string[],
  ref: TransitionRef,
  which: { action: number } | 'guard',
  params: Record<string, unknown> | undefined,
): MachineDoc {
  const listKeys = transitionListKeys(doc, state, ref);
  const current = getIn(doc, listKeys);
  const index = ref.index ?? 0;
  const raw = toArray(current)[index];
  if (raw === undefined) return doc;
  let object: Json = typeof raw === 'string' ? { target: raw } : { ...(asRecord(raw) ?? {}) };
  const withParams = (reference: unknown) => {
    const name = typeof reference === 'string' ? reference : (asRecord(reference)?.type as string | undefined);
    if (!name) return reference;
    return params === undefined || !Object.keys(params).length ? name : { type: name, params };
  };
  if (which === 'guard') object = setIn(object, ['guard'], withParams(object.guard));
  else {
    const actions = toArray(object.actions).map((a, i) => (i === which.action ? withParams(a) : a));
    object = setIn(object, ['actions'], actions.length === 1 && !Array.isArray(object.actions) ? actions[0] : actions);
  }
  const items = toArray(current).slice();
  items[index] = object;
  return writeList(doc, listKeys, items, Array.isArray(current));
}

/** The params of a reference (`{ type, params }`), if it has any. */
export function paramsOf(reference: unknown): Record<string, unknown> | undefined {
  return asRecord(asRecord(reference)?.params);
}

/** Sets (or removes) a state's description. */
export function setDescription(doc: MachineDoc, path: readonly string[], description: string): MachineDoc {
  return setIn(doc, [...stateKeys(path), 'description'], description.trim() ? description : undefined);
}

/** Removes one transition. */
export function removeTransition(doc: MachineDoc, state: readonly string[], ref: TransitionRef): MachineDoc {
  const keys = transitionListKeys(doc, state, ref);
  const current = getIn(doc, keys);
  return writeList(
    doc,
    keys,
    toArray(current).filter((_, i) => i !== (ref.index ?? 0)),
    Array.isArray(current),
  );
}

/**
 * How a transition in `from` names the state at `to`: its sibling (or a
 * sibling's descendant) by relative path, its own descendant as `.child`,
 * a state with an explicit id as `#id`, anything else as `#machine.path`.
 */
export function targetText(doc: MachineDoc, from: readonly string[], to: readonly string[]): string {
  if (from.length && startsWith(to, from.slice(0, -1)) && !startsWith(to, from)) return to.slice(from.length - 1).join('.');
  if (startsWith(to, from) && to.length > from.length) return `.${to.slice(from.length).join('.')}`;
  if (startsWith(to, from)) return `${from.at(-1) ?? ''}`; // itself: a re-entering self-transition
  const node = stateAt(doc, to);
  if (typeof node?.id === 'string') return `#${node.id}`;
  return `#${String(doc.id ?? '(machine)')}.${to.join('.')}`;
}

// ---- helpers --------------------------------------------------------------------------

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => path[i] === k);
}

/** Calls `visit` for every string target of every transition, with the JSON keys of that target string. */
function forEachTarget(
  doc: MachineDoc,
  index: MachineIndex,
  visit: (state: StateInfo, keys: Key[], target: string, resolved: StateInfo | undefined) => void,
): void {
  for (const state of index.states) {
    for (const t of transitionsOf(state.node, state.path)) {
      const listKeys = transitionListKeys(doc, state.path, t.ref);
      const list = getIn(doc, listKeys);
      const itemKeys: Key[] = Array.isArray(list) ? [...listKeys, t.ref.index] : listKeys;
      const raw = Array.isArray(list) ? list[t.ref.index] : list;
      if (typeof raw === 'string') {
        visit(state, itemKeys, raw, index.resolve(state, raw));
        continue;
      }
      const target = asRecord(raw)?.target;
      if (typeof target === 'string') visit(state, [...itemKeys, 'target'], target, index.resolve(state, target));
      else if (Array.isArray(target)) {
        target.forEach((tt, i) => {
          if (typeof tt === 'string') visit(state, [...itemKeys, 'target', i], tt, index.resolve(state, tt));
        });
      }
    }
  }
}

/** A target's base state path, its path segments after the base, and the text before them. */
function splitTarget(index: MachineIndex, from: StateInfo, target: string): [string[] | undefined, string[], string] {
  if (target.startsWith('#')) {
    const [id, ...rest] = target.slice(1).split('.');
    return [index.byId.get(id!)?.path, rest, rest.length ? `#${id}.` : `#${id}`];
  }
  if (target.startsWith('.')) return [from.path, target.slice(1).split('.'), '.'];
  return [from.path.slice(0, -1), target.split('.'), ''];
}

/** Removes the target string at `keys` (a whole transition when it was its only target). */
function removeTargetAt(doc: MachineDoc, keys: Key[]): MachineDoc {
  const last = keys.at(-1);
  if (typeof last === 'number' && keys.at(-2) === 'target') {
    const targets = getIn(doc, keys.slice(0, -1)) as unknown[];
    if (targets.length > 1) return setIn(doc, keys, undefined);
    keys = keys.slice(0, -2);
  } else if (last === 'target') keys = keys.slice(0, -1);
  // `keys` now points at the transition item: inside a list (number) or the list's only value.
  const tail = keys.at(-1);
  if (typeof tail === 'number') {
    const listKeys = keys.slice(0, -1);
    const list = getIn(doc, listKeys) as unknown[];
    return writeList(
      doc,
      listKeys,
      list.filter((_, i) => i !== tail),
      true,
    );
  }
  return writeList(doc, keys, [], false);
}
