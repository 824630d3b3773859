/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** A compact state value: `paid`, `review.waiting`, or JSON for parallel states. */
export function stateText(json: string | null): string {
  if (!json) return '-';
  const value = JSON.parse(json) as unknown;
  const flat = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 1) return `${entries[0]![0]}.${flat(entries[0]![1])}`;
      return `{${entries.map(([k, x]) => `${k}.${flat(x)}`).join(', ')}}`;
    }
    return String(v);
  };
  return flat(value);
}

/** A human age: 4s, 3m, 2h, 5d. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** Microseconds as a short duration. */
export function micros(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(1)}ms` : `${us}us`;
}
