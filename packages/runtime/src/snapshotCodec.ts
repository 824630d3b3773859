import { SpineError } from './errors.js';

/**
 * How a persisted snapshot is written and read. The text is the JSON of xstate's persisted
 * snapshot, readable as it is by anything that reads snapshots (the studio, `spine show`),
 * plus one key, `$spine`, listing the context values JSON cannot say but xstate keeps: a key
 * whose value is `undefined`, `NaN`, `Infinity`, `-Infinity`, `-0` and a `Date` (superjson's
 * "JSON plus meta" idea, kept in one object). A context value that cannot be kept exactly
 * (a function, a symbol, a BigInt, a Map, a Set, a class instance, a cycle) is refused with
 * its path: the step that made it fails, as the same step fails on a warm and a restarted host.
 */
export const SNAPSHOT_META_KEY = '$spine';

type Tag = 'undefined' | 'NaN' | 'Infinity' | '-Infinity' | '-0' | 'Date';
type Path = (string | number)[];
interface Meta {
  values: [Path, Tag][];
}

/** The error a step fails with when its context holds a value the store cannot keep exactly (code `not_persistable`). */
function unpersistable(path: string, what: string): SpineError {
  const message = `The context value at ${path} is ${what}, which a durable snapshot cannot keep exactly (it keeps JSON values, undefined, NaN, ±Infinity, -0 and Date). Keep plain data and ids in context.`;
  return new SpineError('not_persistable', message, { issues: [{ path, message: `${what} cannot be persisted` }] });
}

/**
 * Writes a persisted snapshot (what `machine.getPersistedSnapshot` returns) as text, keeping
 * every context value xstate keeps; throws a `not_persistable` SpineError naming the path of
 * the first one it cannot keep.
 *
 * @example
 * commit.snapshot = encodeSnapshot(machine.getPersistedSnapshot(next));
 */
export function encodeSnapshot(persisted: unknown): string {
  return encodeSnapshotParts(persisted).text;
}

/** A context as {@link encodeSnapshotParts} wrote it into a snapshot's text: its own JSON and the values JSON cannot say. */
export interface EncodedContext {
  readonly json: string;
  readonly values: readonly [Path, Tag][];
}

/**
 * {@link encodeSnapshot}, with the context's own JSON kept apart, so that the context can be read
 * back ({@link decodeContext}) without parsing the whole snapshot. `context` is absent when the
 * snapshot has none.
 */
export function encodeSnapshotParts(persisted: unknown): { text: string; context?: EncodedContext } {
  if (!persisted || typeof persisted !== 'object' || !('context' in persisted)) return { text: JSON.stringify(persisted ?? null) };
  const source = persisted as Record<string, unknown>;
  const values: [Path, Tag][] = [];
  walk(source.context, ['context'], values, new Set());
  let snapshot = source;
  if (values.length || Object.hasOwn(source, SNAPSHOT_META_KEY) || Object.getPrototypeOf(source) !== Object.prototype) {
    // A plain copy without a stale meta key, with this one last (xstate's persisted snapshots need none of it: no copy).
    snapshot = Object.assign({}, source);
    delete snapshot[SNAPSHOT_META_KEY];
    if (values.length) snapshot[SNAPSHOT_META_KEY] = { values } satisfies Meta;
  }
  const text = JSON.stringify(snapshot);
  if (typeof snapshot.toJSON === 'function') return { text }; // the text is what it returned, whatever its context
  // The context written alone is the text's context: the walk above refused anything whose JSON depends on where it is written (a toJSON of its own).
  const context = Object.prototype.propertyIsEnumerable.call(source, 'context') ? (JSON.stringify(source.context) as string | undefined) : undefined;
  return context === undefined ? { text } : { text, context: { json: context, values } };
}

/** The context as {@link decodeSnapshot} reads it from the snapshot text it was encoded in (a fresh copy). */
export function decodeContext(encoded: EncodedContext): unknown {
  const context = JSON.parse(encoded.json) as unknown;
  if (!encoded.values.length) return context;
  const root: Record<string, unknown> = { context };
  // As decodeSnapshot: only values inside the context are put back (a context that is itself such a value stays as JSON has it).
  for (const [path, tag] of encoded.values) if (path.length >= 2) restore(root, path, tag);
  return root.context;
}

/**
 * Reads a snapshot written by {@link encodeSnapshot} (or plain JSON) back into the object xstate
 * restores from: the `$spine` values put back, the key removed.
 */
export function decodeSnapshot(text: string): any {
  const snapshot = JSON.parse(text) as unknown;
  if (!snapshot || typeof snapshot !== 'object' || !(SNAPSHOT_META_KEY in snapshot)) return snapshot;
  const record = snapshot as Record<string, unknown>;
  const meta = record[SNAPSHOT_META_KEY] as Partial<Meta> | undefined;
  delete record[SNAPSHOT_META_KEY];
  for (const entry of Array.isArray(meta?.values) ? meta.values : []) {
    if (!Array.isArray(entry) || !Array.isArray(entry[0]) || entry[0].length < 2 || entry[0][0] !== 'context') continue;
    restore(record, entry[0] as Path, entry[1] as Tag);
  }
  return record;
}

/** The context of a stored snapshot, as the machine sees it. */
export function snapshotContext(text: string | null | undefined): unknown {
  if (!text) return undefined;
  return (decodeSnapshot(text) as { context?: unknown } | null)?.context;
}

function restore(root: Record<string, unknown>, path: Path, tag: Tag): void {
  let parent: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!parent || typeof parent !== 'object' || !Object.hasOwn(parent, key)) return;
    parent = (parent as Record<string | number, unknown>)[key];
  }
  const last = path.at(-1)!;
  if (!parent || typeof parent !== 'object') return;
  const holder = parent as Record<string | number, unknown>;
  const current = Object.hasOwn(holder, last) ? holder[last] : undefined;
  // Only where the JSON holds what the encoder wrote there: a meta entry can never change a real value.
  switch (tag) {
    case 'undefined':
      if (Array.isArray(holder) ? current === null : !Object.hasOwn(holder, last)) holder[last] = undefined;
      return;
    case 'NaN':
    case 'Infinity':
    case '-Infinity':
      if (current === null) holder[last] = Number(tag);
      return;
    case '-0':
      if (current === 0) holder[last] = -0;
      return;
    case 'Date':
      if (typeof current === 'string' || current === null) holder[last] = new Date(current === null ? Number.NaN : current);
      return;
  }
}

function walk(value: unknown, path: Path, values: [Path, Tag][], stack: Set<object>): void {
  switch (typeof value) {
    case 'undefined':
      values.push([[...path], 'undefined']);
      return;
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (Number.isNaN(value)) values.push([[...path], 'NaN']);
      else if (value === Infinity) values.push([[...path], 'Infinity']);
      else if (value === -Infinity) values.push([[...path], '-Infinity']);
      else if (Object.is(value, -0)) values.push([[...path], '-0']);
      return;
    case 'bigint':
      throw unpersistable(pathText(path), 'a BigInt');
    case 'symbol':
      throw unpersistable(pathText(path), 'a symbol');
    case 'function':
      throw unpersistable(pathText(path), `a function${value.name ? ` (${value.name})` : ''}`);
  }
  if (value === null) return;
  const object = value as object;
  if (object instanceof Date) {
    values.push([[...path], 'Date']);
    return;
  }
  if (stack.has(object)) throw unpersistable(pathText(path), 'a reference back to one of its own containers (a cycle)');
  if (!Array.isArray(object)) {
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
      throw unpersistable(pathText(path), `an instance of ${typeof name === 'string' && name ? name : 'a class'}`);
    }
    if (Object.getOwnPropertySymbols(object).length) throw unpersistable(pathText(path), 'an object with symbol keys');
  }
  stack.add(object);
  // One path array for the whole walk, extended and cut back here; a value recorded copies it.
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      path.push(i);
      walk(object[i], path, values, stack);
      path.pop();
    }
  } else {
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      path.push(key);
      walk((object as Record<string, unknown>)[key], path, values, stack);
      path.pop();
    }
  }
  stack.delete(object);
}

function pathText(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (i ? `.${key}` : key) : `[${JSON.stringify(key)}]`)).join('');
}
