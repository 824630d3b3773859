import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { age, colourOn, stateText, statusText, statusWord, table } from '../format.js';
import { openStore } from '../openStore.js';
import { help } from './run.js';

const usage = 'spine runs [--db FILE] [--json]';

/** `spine runs`: lists runs, newest first. */
export async function runs(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, dbOptions, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const store = await openStore(dbPath(values.db), { mustExist: true, readonly: true });
  try {
    const roots = await store.listActors({ rootsOnly: true, limit: 1000 });
    // Steps of every agent of the run, as the studio counts them.
    const steps = new Map(await Promise.all(roots.map(async (r) => [r.id, (await store.runStats(r.id)).steps] as const)));
    const waiting = new Set((await store.listApprovals({ status: ['pending'] })).map((a) => a.runId));
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
      }));
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else if (!roots.length) {
      process.stdout.write('no runs yet: start one with `spine run <machine>`\n');
    } else {
      const now = Date.now();
      const on = colourOn();
      const rows = roots.map((r) => [r.id, r.machine, waiting.has(r.id) ? 'waiting' : statusWord(r.status), stateText(r.stateValue), steps.get(r.id) ?? r.seq, age(now - r.createdAt)]);
      process.stdout.write(`${table(['RUN', 'MACHINE', 'STATUS', 'STATE', 'STEPS', 'AGE'], rows, { colour: on, style: (_row, column, text) => (column === 2 ? statusText(text, on) : text) })}\n`);
    }
    return EXIT.done;
  } finally {
    await store.close();
  }
}
