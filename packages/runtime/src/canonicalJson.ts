import { nodeCrypto } from './lazyBuiltins.js';

/** JSON with object keys sorted at every depth, so equal values serialise to equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** A short content hash (sha256, 16 hex digits) of a value's canonical JSON. */
export function contentHash(value: unknown): string {
  return nodeCrypto().createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}
