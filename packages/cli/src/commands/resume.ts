import { createRuntime } from '@spine/runtime';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { stateText, statusText, statusWord, table } from '../format.js';
import { loadMachines } from '../loadMachines.js';
import { openStore } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';
import { progress } from '../progress.js';
import { help } from '../help.js';

const usage = 'spine resume [--db FILE] [--machines DIR] [--json] [--wait-timers SECONDS]  (exit 0 all done, 1 one failed, 3 one is waiting)';

/** `spine resume`: resumes every unfinished run and waits until each is done, failed or waiting. */
export async function resume(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, 'wait-timers': { type: 'string' } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const registry = await loadMachines(values.machines ?? 'machines');
  const store = await openStore(dbPath(values.db), { mustExist: true });
  const runtime = createRuntime({ store, machines: registry });
  try {
    await restoreBreakers(store); // a provider failing before this process started stays open
    await runtime.start();
    const runs = await store.listActors({ rootsOnly: true, status: ['active'], limit: 100_000 });
    const horizonMs = intArg(values['wait-timers'], '--wait-timers', 60) * 1000;
    const outcomes = [];
    const bar = progress('resuming', runs.length, { enabled: !values.json && Boolean(process.stderr.isTTY) && runs.length > 1 });
    for (const [i, run] of runs.entries()) {
      bar.update(i, run.id);
      outcomes.push(await runtime.waitForRun(run.id, { horizonMs }));
    }
    bar.update(runs.length);
    bar.finish();
    if (values.json) process.stdout.write(`${JSON.stringify(outcomes)}\n`);
    else if (!outcomes.length) process.stdout.write('nothing to resume: no unfinished runs\n');
    else {
      const rows = outcomes.map((o) => [o.runId, statusWord(o.status), o.status === 'waiting' ? stateText(JSON.stringify(o.state)) : o.status === 'error' ? o.error : '']);
      process.stdout.write(`${table(['RUN', 'STATUS', 'DETAIL'], rows, { style: (_row, column, text) => (column === 1 ? statusText(text) : text) })}\n`);
    }
    // Like `spine run`: 1 if any run failed, else 3 if any waits (for a person, an event, a timer), else 0.
    if (outcomes.some((o) => o.status === 'error' || o.status === 'stopped')) return EXIT.failed;
    return outcomes.some((o) => o.status === 'waiting') ? EXIT.waiting : EXIT.done;
  } finally {
    await runtime.stop();
    await store.close();
  }
}
