import { createRuntime, SpineError, type RunOutcome } from '@spine/runtime';
import { dbOptions, dbPath, intArg, parse, parseJsonArg } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { help } from '../help.js';
import { loadMachines } from '../loadMachines.js';
import { openStore } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';

const usage = 'spine run <machine> [--input JSON] [--db FILE] [--machines DIR] [--json] [--wait-timers SECONDS]';

/** `spine run`: starts a run, waits until it is done, failed or waiting, prints the outcome. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, input: { type: 'string' }, 'wait-timers': { type: 'string' } }, usage);
  if (values.help) return help(usage);
  const [machine, ...extra] = positionals;
  if (!machine || extra.length) throw new CliError(`expected one machine name\nusage: ${usage}`);
  const input = parseJsonArg(values.input, '--input');
  const registry = await loadMachines(values.machines ?? 'machines');
  const definition = registry.definition(machine); // unknown machine: refused before the database is touched
  const schema = definition.schemas.input;
  if (input !== undefined && schema && schema.safeParse(undefined).success && !schema.safeParse(input).success) {
    throw new CliError(`machine '${machine}' takes no input: leave out --input (an agent like this is usually started by its supervisor)`);
  }
  const store = await openStore(dbPath(values.db));
  const runtime = createRuntime({ store, machines: registry });
  try {
    await restoreBreakers(store); // a provider failing before this process started stays open
    await runtime.start();
    let runId: string;
    try {
      ({ runId } = await runtime.startRun(machine, { input }));
    } catch (error) {
      if (error instanceof SpineError && (error.code === 'invalid_input' || error.code === 'unknown_machine')) throw new CliError(error.message);
      throw error;
    }
    process.stderr.write(`run ${runId} started (${machine})\n`);
    const outcome = await runtime.waitForRun(runId, { horizonMs: intArg(values['wait-timers'], '--wait-timers', 60) * 1000 });
    return report(outcome, values.json);
  } finally {
    await runtime.stop();
    await store.close();
  }
}

/** Prints a run's outcome and returns its exit code. */
export function report(outcome: RunOutcome, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(outcome)}\n`);
  switch (outcome.status) {
    case 'done':
      if (!json) process.stdout.write(`${JSON.stringify(outcome.output, null, 2)}\n`);
      return EXIT.done;
    case 'error':
      if (!json) process.stderr.write(`spine: run ${outcome.runId} failed: ${outcome.error}\n`);
      return EXIT.failed;
    case 'stopped':
      if (!json) process.stderr.write(`spine: run ${outcome.runId} was stopped\n`);
      return EXIT.failed;
    case 'waiting': {
      if (!json) {
        const until = outcome.nextWakeAt ? `; next timer at ${new Date(outcome.nextWakeAt).toISOString()}` : '';
        process.stderr.write(`run ${outcome.runId} is waiting in state ${JSON.stringify(outcome.state)}${until}\n`);
      }
      return EXIT.waiting;
    }
  }
}

/** Prints usage and returns 0. */
