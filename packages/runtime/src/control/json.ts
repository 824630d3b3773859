/** Parses stored JSON; undefined for null or unparseable input. */
export function parseJson(json: string | null | undefined): unknown {
  if (json === null || json === undefined) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** The step that requested a job, from its key (`actorId:seq:index`); null for a key of another shape. */
export function stepOfJobKey(key: string, actorId: string): number | null {
  if (!key.startsWith(`${actorId}:`)) return null;
  const seq = Number(key.slice(actorId.length + 1).split(':')[0]);
  return Number.isInteger(seq) ? seq : null;
}
