import type { z } from 'zod';
import type { MachineImplementation } from './defineMachine.js';
import type { FieldIssue } from './errors.js';
import { eventNameProblem, ownValue } from './names.js';

/**
 * Checks an event against a machine's event schemas: the type must be one the
 * machine accepts, and the payload must match that type's schema. Returns the
 * issues, each naming the failing field; an empty list means accepted.
 */
export function validateEvent(implementation: Pick<MachineImplementation, 'schemas'>, event: unknown): FieldIssue[] {
  if (!event || typeof event !== 'object' || Array.isArray(event)) {
    return [{ path: '(event)', message: 'an event must be a JSON object with a string "type"' }];
  }
  const type = (event as { type?: unknown }).type;
  if (typeof type !== 'string' || !type) return [{ path: 'type', message: 'an event must have a string "type"' }];
  const problem = eventNameProblem(type);
  if (problem) return [{ path: 'type', message: problem }];
  const schemas = implementation.schemas.events ?? {};
  // An own property only: `constructor`, `__proto__` or `toString` must never find Object.prototype's.
  const schema = ownValue(schemas, type);
  if (!schema) {
    const accepted = Object.keys(schemas);
    return [{ path: 'type', message: `unknown event type '${type}'; accepted: ${accepted.length ? accepted.join(', ') : '(none)'}` }];
  }
  const { type: _type, ...payload } = event as Record<string, unknown>;
  const result = schema.safeParse(payload);
  return result.success ? [] : zodIssues(result.error);
}

/** Flattens a zod error into `{ path, message }` issues with dotted paths. */
export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : '(root)',
    message: issue.message,
  }));
}
