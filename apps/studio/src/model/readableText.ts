/**
 * An agent's recorded reasoning as lines a person reads: a string as it is, an object as
 * `field: value` lines (nested objects indented, lists joined), never raw JSON braces.
 */
export function readableText(value: unknown, indent = ''): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return value.split('\n').map((line) => indent + line);
  if (typeof value !== 'object') return [indent + String(value)];
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return [indent + (value.length ? value.map(String).join('; ') : 'none')];
    return value.flatMap((v) => readableText(v, indent));
  }
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const label = key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    if (v !== null && typeof v === 'object' && !(Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object'))) {
      lines.push(`${indent}${label}:`, ...readableText(v, `${indent}  `));
    } else {
      lines.push(`${indent}${label}: ${readableText(v)[0] ?? '—'}`);
    }
  }
  return lines;
}
