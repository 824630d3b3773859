import type { EventObject } from 'xstate';
import type { MachineDefinition } from './defineMachine.js';
import { SpineError, type FieldIssue, formatIssues } from './errors.js';
import type { NewEvent } from './Store.js';
import { validateEvent, zodIssues } from './validateEvent.js';

/** Event types only the runtime may send. */
export const RESERVED_EVENT = /^(xstate\.|spine\.)/;

/**
 * The issues of an event for a machine: its event schemas decide; a machine
 * written in code without `schemas.events` accepts every event type, as xstate does.
 */
export function eventIssues(definition: MachineDefinition, event: unknown): FieldIssue[] {
  if (definition.machine && !definition.schemas.events) {
    const type = (event as { type?: unknown } | null)?.type;
    return typeof type === 'string' && type ? [] : [{ path: 'type', message: 'an event must have a string "type"' }];
  }
  return validateEvent(definition, event);
}

/** One line naming the machine, the event and each failing field. */
export function describeIssues(machine: string, type: string | undefined, issues: FieldIssue[]): string {
  return `Event '${type ?? '(no type)'}' refused by machine '${machine}': ${formatIssues(issues)}`;
}

/** A run's (or spawned child's) input, checked against the machine's input schema. */
export function parseInput(definition: MachineDefinition, input: unknown, machine: string): unknown {
  const schema = definition.schemas.input;
  if (!schema) return input;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  throw new SpineError('invalid_input', `Invalid input for machine '${machine}': ${formatIssues(issues)}`, { machine, issues });
}

/** The event that runs an actor's initial transition. */
export function initEvent(actorId: string, input: unknown, now: number, source: string): NewEvent {
  return { actorId, type: 'xstate.init', event: JSON.stringify({ type: 'xstate.init', input }), dueAt: now, source };
}

/** An event the runtime delivers to an actor itself (a refused delivery, a failed spawn). */
export function selfEvent(actorId: string, event: EventObject & Record<string, unknown>, now: number): NewEvent {
  return { actorId, type: event.type, event: JSON.stringify(event), dueAt: now, source: 'runtime' };
}

/** JSON, or undefined for a value that cannot be serialised. */
export function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
