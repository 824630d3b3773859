/** How deeply an event's JSON may nest before it is refused (objects and arrays count one level each). */
export const MAX_EVENT_DEPTH = 64;

/**
 * Why a value cannot be an event because of its shape, or undefined: nested
 * deeper than `maxDepth`, or holding a `__proto__` key at any depth. Walks with an explicit stack, so a 20,000-deep value is measured
 * without overflowing the call stack (where `JSON.stringify` would).
 */
export function depthProblem(value: unknown, maxDepth: number = MAX_EVENT_DEPTH, subject = 'The event'): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  let visited = 0;
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) {
      return `${subject} is nested more than ${maxDepth} levels deep (objects and arrays inside each other), or refers to itself; the limit is ${maxDepth}.`;
    }
    // Width is bounded by the byte limit checked after serialising; this only stops a pathological walk early.
    if (++visited > 1_000_000) return undefined;
    if (!Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, '__proto__')) {
      return `${subject} has a key named "__proto__", which Spine refuses: code that copies the payload into an object would replace that object's prototype.`;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return undefined;
}
