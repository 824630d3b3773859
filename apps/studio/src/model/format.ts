/** `3s ago`, `5m ago`, `2h ago`, `4d ago`. */
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

/** Dollars with precision that suits small model costs. */
export function usd(value: number): string {
  if (!value) return '$0';
  // Two significant digits for small amounts: $0.00020, never $0.0000 for a call that cost something.
  if (value < 0.000001) return '<$0.000001';
  if (value < 0.01) return `$${value.toPrecision(2)}`;
  return `$${value.toFixed(2)}`;
}

/** 1234 -> 1.2k. */
export function count(value: number): string {
  if (value < 1000) return String(value);
  if (value < 1_000_000) return `${(value / 1000).toFixed(1)}k`;
  return `${(value / 1_000_000).toFixed(1)}M`;
}

/** Step duration from microseconds. */
export function duration(us: number): string {
  if (us < 1000) return `${us}µs`;
  const ms = us / 1000;
  return ms < 1000 ? `${ms.toFixed(1)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/** hh:mm:ss.mmm of a time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** The last part of a long id, for narrow columns. */
export function shortId(id: string, length = 14): string {
  return id.length <= length ? id : `…${id.slice(-length + 1)}`;
}

/** Pretty JSON for panels. */
export function pretty(value: unknown): string {
  if (value === undefined) return '—';
  return JSON.stringify(value, null, 2);
}
