/** One difference between two JSON values, at a dotted path. */
export interface DiffEntry {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** Lists what changed from `before` to `after`, field by field (arrays by index). */
export function diffJson(before: unknown, after: unknown, path = ''): DiffEntry[] {
  if (Object.is(before, after)) return [];
  const bothObjects = isObject(before) && isObject(after);
  const bothArrays = Array.isArray(before) && Array.isArray(after);
  if (bothArrays) {
    const out: DiffEntry[] = [];
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i++) {
      const p = `${path}[${i}]`;
      if (i >= before.length) out.push({ path: p, kind: 'added', after: after[i] });
      else if (i >= after.length) out.push({ path: p, kind: 'removed', before: before[i] });
      else out.push(...diffJson(before[i], after[i], p));
    }
    return out;
  }
  if (bothObjects) {
    const out: DiffEntry[] = [];
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      const p = path ? `${path}.${key}` : key;
      if (!(key in before)) out.push({ path: p, kind: 'added', after: after[key] });
      else if (!(key in after)) out.push({ path: p, kind: 'removed', before: before[key] });
      else out.push(...diffJson(before[key], after[key], p));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before === undefined) return [{ path: path || '(value)', kind: 'added', after }];
  if (after === undefined) return [{ path: path || '(value)', kind: 'removed', before }];
  return [{ path: path || '(value)', kind: 'changed', before, after }];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
