import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { age, stateText, table } from '../format.js';
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
    if (values.json) {
      const out = roots.map((r) => ({ runId: r.id, machine: r.machine, version: r.version, status: r.status, state: r.stateValue ? JSON.parse(r.stateValue) : null, steps: r.seq, createdAt: r.createdAt, updatedAt: r.updatedAt, error: r.error }));
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else if (!roots.length) {
      process.stdout.write('no runs yet: start one with `spine run <machine>`\n');
    } else {
      const now = Date.now();
      const rows = roots.map((r) => [r.id, r.machine, r.status, stateText(r.stateValue), r.seq, age(now - r.createdAt)]);
      process.stdout.write(`${table(['RUN', 'MACHINE', 'STATUS', 'STATE', 'STEPS', 'AGE'], rows)}\n`);
    }
    return EXIT.done;
  } finally {
    await store.close();
  }
}
