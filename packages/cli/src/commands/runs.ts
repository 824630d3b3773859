import type { ActorRecord } from '@spine/runtime/store';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { age, colourOn, stateText, statusText, statusWord, table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine runs [--limit N] [--cursor C] [--db FILE] [--json]';

/** Runs `spine runs` lists at once unless `--limit` says otherwise. */
export const RUNS_PAGE = 100;

/**
 * `spine runs`: lists runs, newest first, a page at a time (`--limit`, default 100). When there are
 * more, it says so and prints the `--cursor` that continues the listing (on stderr with `--json`,
 * whose every run also carries its own `cursor`).
 */
export async function runs(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, limit: { type: 'string' }, cursor: { type: 'string' } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const limit = intArg(values.limit, '--limit', RUNS_PAGE);
  if (limit < 1) throw new CliError(`--limit must be at least 1\nusage: ${usage}`);
  const after = values.cursor === undefined ? undefined : parseCursor(values.cursor);
  const store = await openStore(dbPath(values.db), { mustExist: true, readonly: true });
  try {
    const page = await store.listActors({ rootsOnly: true, limit: limit + 1, snapshots: false, ...(after ? { after } : {}) });
    const roots = page.slice(0, limit);
    const next = page.length > limit ? cursorOf(roots.at(-1)!) : undefined;
    // Steps of every agent of the run, as the studio counts them.
    const steps = new Map(await Promise.all(roots.map(async (r) => [r.id, (await store.runStats(r.id)).steps] as const)));
    const waiting = new Set((await store.listApprovals({ status: ['pending'] })).map((a) => a.runId));
    const more = next && `more runs: spine runs --cursor ${next}${limit !== RUNS_PAGE ? ` --limit ${limit}` : ''}`;
    if (values.json) {
      const out = roots.map((r) => ({
        runId: r.id,
        machine: r.machine,
        version: r.version,
        status: statusWord(r.status),
        waitingForApproval: waiting.has(r.id),
        state: r.stateValue ? JSON.parse(r.stateValue) : null,
        steps: steps.get(r.id) ?? r.seq,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        error: r.error,
        cursor: cursorOf(r),
      }));
      process.stdout.write(`${JSON.stringify(out)}\n`);
      if (more) process.stderr.write(`${more}\n`);
    } else if (!roots.length) {
      process.stdout.write(after ? 'no more runs\n' : 'no runs yet: start one with `spine run <machine>`\n');
    } else {
      const now = Date.now();
      const on = colourOn();
      const rows = roots.map((r) => [r.id, r.machine, waiting.has(r.id) ? 'waiting' : statusWord(r.status), stateText(r.stateValue), steps.get(r.id) ?? r.seq, age(now - r.createdAt)]);
      process.stdout.write(`${table(['RUN', 'MACHINE', 'STATUS', 'STATE', 'STEPS', 'AGE'], rows, { colour: on, style: (_row, column, text) => (column === 2 ? statusText(text, on) : text) })}\n`);
      if (more) process.stdout.write(`${more}\n`);
    }
    return EXIT.done;
  } finally {
    await store.close();
  }
}

/** The cursor that lists the runs after this one: its creation time and id. */
export function cursorOf(run: Pick<ActorRecord, 'createdAt' | 'id'>): string {
  return `${run.createdAt}.${Buffer.from(run.id).toString('base64url')}`;
}

function parseCursor(text: string): { createdAt: number; id: string } {
  const match = /^(\d+)\.([A-Za-z0-9_-]+)$/.exec(text);
  const id = match ? Buffer.from(match[2]!, 'base64url').toString() : '';
  if (!match || !id || cursorOf({ createdAt: Number(match[1]), id }) !== text) {
    throw new CliError(`--cursor '${text}' is not a cursor printed by \`spine runs\`\nusage: ${usage}`);
  }
  return { createdAt: Number(match[1]), id };
}
