/**
 * The one grammar for names that come from machine files, the editor and the
 * network: event types, and the names of actions, guards, delays and activities.
 * The runtime refuses anything else when it loads a machine or receives an event,
 * and the studio's save path refuses it before a file is written, so a name that
 * reaches generated code or a look-up is always one of these shapes.
 */

/** The longest event type or implementation name accepted. */
export const MAX_NAME_LENGTH = 128;

/**
 * Event types: dot-separated segments of letters, digits, `_`, `-`, `$` and `:`
 * (`research.requested`, `xstate.done.actor.fetch:0`), or a wildcard (`*`, `draft.*`).
 */
const EVENT_NAME = /^(?:\*|[A-Za-z0-9_$:-]+(?:\.[A-Za-z0-9_$:-]+)*(?:\.\*)?)$/;

/** Implementation names: a letter, `_` or `$`, then letters, digits, `_`, `$`, `-`, `.` or `:`. */
const IMPLEMENTATION_NAME = /^[A-Za-z_$][A-Za-z0-9_$.:-]*$/;

/** Names that look up the prototype of a plain object: never an event type or an implementation name. */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Why a string is not a valid event type, or undefined when it is one. */
export function eventNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !name) return 'an event type must be a non-empty string';
  if (name.length > MAX_NAME_LENGTH) return `an event type is at most ${MAX_NAME_LENGTH} characters (this one has ${name.length})`;
  if (!EVENT_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a valid event type: use dot-separated segments of letters, digits, _, -, $ or : (like "draft.ready")`;
  }
  if (PROTOTYPE_NAMES.has(name)) return `${JSON.stringify(name)} is reserved (a property of every JavaScript object) and cannot be an event type`;
  return undefined;
}

/** Whether a string is a valid event type (see `eventNameProblem`). */
export function isEventName(name: unknown): name is string {
  return eventNameProblem(name) === undefined;
}

/** Why a string is not a valid action, guard, delay or activity name, or undefined when it is one. */
export function implementationNameProblem(name: unknown, kind = 'name'): string | undefined {
  if (typeof name !== 'string' || !name) return `a ${kind} must be a non-empty string`;
  if (name.length > MAX_NAME_LENGTH) return `a ${kind} is at most ${MAX_NAME_LENGTH} characters (this one has ${name.length})`;
  if (!IMPLEMENTATION_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a valid ${kind}: start with a letter, _ or $, then letters, digits, _, $, -, . or :`;
  }
  if (PROTOTYPE_NAMES.has(name)) return `${JSON.stringify(name)} is reserved (a property of every JavaScript object) and cannot be a ${kind}`;
  return undefined;
}

/** Whether a string is a valid implementation name (see `implementationNameProblem`). */
export function isImplementationName(name: unknown): name is string {
  return implementationNameProblem(name) === undefined;
}

/** A record's own value for an untrusted key: never one inherited from `Object.prototype`. */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Whether a record has its own property named by an untrusted key. */
export function hasOwn(record: object | undefined, key: string): boolean {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key);
}
