/** The median of a set of timings or rates (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * `a / b` round by round (rates in steps/s, round i of each measured in the same round of a bench),
 * and their median: a machine whose speed drifts between rounds moves both sides of each alike.
 */
export function pairedRatio(a: { rounds: readonly number[] }, b: { rounds: readonly number[] }): { ratio: number; rounds: number[] } {
  const rounds = a.rounds.map((rate, i) => rate / b.rounds[i]!);
  return { ratio: median(rounds), rounds };
}

/** A figure rounded to a whole number with thousands separators: `2,483`. */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** What a bench's first line says of the V8 settings its measured processes ran with (see v8Flags.ts). */
export function v8Settings(flags: readonly string[]): string {
  return `V8 ${flags.join(' ') || 'defaults'} (every system alike)`;
}
