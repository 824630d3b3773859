/** A one-line progress report for long work (`bench`, `resume` over many runs). */
export interface Progress {
  /** Reports `done` of `total` finished, with an optional word on what is under way. */
  update(done: number, detail?: string): void;
  /** Clears the line (the command then prints its result). */
  finish(): void;
}

/**
 * A progress line on `stream` (default stderr), redrawn in place at most every `intervalMs`;
 * only on a terminal (a pipe or a log file gets nothing), and never with `--json`.
 *
 * @example
 * const bar = progress('resuming', runs.length);
 * for (const [i, run] of runs.entries()) { bar.update(i, run.id); await resume(run); }
 * bar.finish();
 */
export function progress(label: string, total: number, options: { stream?: NodeJS.WriteStream; enabled?: boolean; intervalMs?: number; now?: () => number } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? Boolean(stream.isTTY);
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 100;
  let last = -Infinity;
  let drawn = false;
  if (!enabled) return { update() {}, finish() {} };
  return {
    update(done, detail) {
      const t = now();
      if (t - last < interval && done < total) return;
      last = t;
      const width = 20;
      const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : width;
      const columns = stream.columns ?? 100;
      const text = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${detail ? ` ${detail}` : ''}`;
      stream.write(`\r\u001b[2K${text.slice(0, Math.max(20, columns - 1))}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}
