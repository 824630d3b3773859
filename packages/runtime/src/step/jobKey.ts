/**
 * A job's key: `actorId:seq:index`, the actor, the seq of the step that planned it and the index of
 * its action in that step (a forked run's jobs end in `fork<n>`). Deterministic, so a step planned
 * again after a crash plans the same keys, and an activity's idempotency key stays the same.
 */
export function jobKey(actorId: string, seq: number, index: number | string): string {
  return `${actorId}:${seq}:${index}`;
}

/** The actor of a job key (an actor id may itself hold colons: the last two parts are the step's). */
export function actorOfJobKey(key: string): string {
  const index = key.lastIndexOf(':');
  const seq = index > 0 ? key.lastIndexOf(':', index - 1) : -1;
  return seq > 0 ? key.slice(0, seq) : key;
}

/** The run an actor belongs to: child ids extend their parent's (`run/child/grandchild`). */
export function runOf(actorId: string): string {
  const slash = actorId.indexOf('/');
  return slash < 0 ? actorId : actorId.slice(0, slash);
}

/** The seq of the step that planned a job, from its key. */
export function stepOfJobKey(key: string): number | undefined {
  const parts = key.split(':');
  const seq = Number(parts.at(-2));
  return Number.isInteger(seq) ? seq : undefined;
}
