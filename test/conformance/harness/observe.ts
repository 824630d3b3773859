/** What is compared after every input: the same fields on both sides. */
export interface Observation {
  value: unknown;
  status: string;
  context: unknown;
  output: unknown;
  /** Child key -> its status (and state value, for machines). */
  children: Record<string, { status: string; value?: unknown }>;
  /** Every event the root emitted so far, in order. */
  emitted: unknown[];
  /** Milliseconds until the next pending timer, or null. */
  nextTimerIn: number | null;
  /** Activities (promise actors) started so far, by src, in start order. */
  started: string[];
  /** Why the actor failed (reported, not compared: the two hosts word errors differently). */
  error?: string;
}

/** JSON as the store keeps it: keys sorted, `undefined` fields dropped. */
export function canonical(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(value: unknown): unknown {
  if (value === undefined) return null;
  const json = JSON.stringify(value);
  if (json === undefined) return null;
  return sortKeys(JSON.parse(json));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Context as xstate holds it: like {@link canonical}, but a key whose value is `undefined`
 * stays (as a marker), since `'key' in context` is part of what a machine can observe.
 */
export function canonicalContext(value: unknown): string {
  return JSON.stringify(sortKeys(keepUndefined(value)));
}

const UNDEFINED = '(undefined)';

function keepUndefined(value: unknown): unknown {
  if (value === undefined) return UNDEFINED;
  if (Array.isArray(value)) return value.map(keepUndefined);
  if (value instanceof Date) return value.toJSON();
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keepUndefined(v)]));
  return normalise(value);
}

/** The first field in which two observations differ, or undefined when they are the same. */
export function firstDifference(
  expected: Observation,
  actual: Observation,
  fields: readonly (keyof Observation)[] = ['status', 'value', 'context', 'output', 'children', 'emitted', 'nextTimerIn', 'started'],
): string | undefined {
  for (const field of fields) {
    const encode = field === 'context' ? canonicalContext : canonical;
    const a = encode(expected[field]);
    const b = encode(actual[field]);
    if (a !== b) return `${field}: xstate ${a} / spine ${b}`;
  }
  return undefined;
}
