import { serializeError } from '../errors.js';
import { safeStringify } from '../machineInput.js';

/**
 * How an activity's rejection reaches the machine as `event.error` (documented in the
 * runtime README): a thrown value that is JSON (a string, number, boolean, null, a plain
 * object or array) arrives as itself after a JSON round trip; an `Error` arrives as
 * `serializeError` makes it (`name`, `message`, and `code`/`kind`/`details` when set), plus
 * its own enumerable JSON fields; `undefined` arrives as `undefined`.
 */
export function encodeRejection(thrown: unknown): unknown {
  if (thrown === undefined) return undefined;
  if (thrown instanceof Error || (typeof thrown === 'object' && thrown !== null && Object.prototype.toString.call(thrown) === '[object Error]')) {
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(thrown)) {
      const json = safeStringify(value);
      if (json !== undefined) own[key] = JSON.parse(json) as unknown;
    }
    return { ...own, ...serializeError(thrown) };
  }
  const json = safeStringify(thrown);
  return json === undefined ? serializeError(thrown) : (JSON.parse(json) as unknown);
}
