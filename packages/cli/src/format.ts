import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

/**
 * Whether to colour what goes to `stream`: never when `NO_COLOR` is set (no-color.org), always
 * when `FORCE_COLOR` is set (and not 0), otherwise only on a terminal that has colours.
 */
export function colourOn(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY && stream.hasColors?.());
}

/** `text` in `style` when colour is on (see `colourOn`), else as it is. */
export function paint(style: Style, text: string, on = colourOn()): string {
  return on ? styleText(style, text) : text;
}

/** The word for a run or actor status in every view: the store's `error` is a failed run. */
export function statusWord(status: string): string {
  return status === 'error' ? 'failed' : status;
}

const STATUS_STYLE: Record<string, Style> = { active: 'blue', done: 'green', failed: 'red', error: 'red', stopped: 'gray', waiting: 'yellow' };

/** A status word, coloured on a terminal. */
export function statusText(status: string, on = colourOn()): string {
  const word = statusWord(status);
  return paint(STATUS_STYLE[word] ?? 'reset', word, on);
}

/**
 * Renders rows as an aligned text table; `style(row, column, text)` may colour a cell (padding is
 * measured on the plain text). The header is bold on a terminal.
 */
export function table(headers: string[], rows: (string | number)[][], options: { style?: (row: number, column: number, text: string) => string; colour?: boolean } = {}): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const on = options.colour ?? colourOn();
  return cells
    .map((r, ri) =>
      r
        .map((c, i) => {
          const padded = i === r.length - 1 ? c : c.padEnd(widths[i]!);
          if (!on) return padded;
          if (ri === 0) return styleText('bold', padded);
          const styled = options.style?.(ri - 1, i, c);
          return styled === undefined || styled === c ? padded : styled + padded.slice(c.length);
        })
        .join('  '),
    )
    .join('\n');
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
