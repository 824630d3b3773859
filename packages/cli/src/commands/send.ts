import { createRuntime, SpineError } from '@spine/runtime';
import { dbOptions, dbPath, parse, parseJsonArg } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { stateText } from '../format.js';
import { loadMachines } from '../loadMachines.js';
import { openStore } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';
import { help } from '../help.js';

const usage = 'spine send <runId|actorId> <eventJSON> [--db FILE] [--machines DIR] [--json]';

/**
 * `spine send`: validates an event against the actor's schema and stores it. If
 * no live host drives the run, this process applies it and waits for the run to settle.
 */
export async function send(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, dbOptions, usage);
  if (values.help) return help(usage);
  const [actorId, eventText, ...extra] = positionals;
  if (!actorId || eventText === undefined || extra.length) throw new CliError(`expected an actor id and an event\nusage: ${usage}`);
  const event = parseJsonArg(eventText, 'the event');
  const registry = await loadMachines(values.machines ?? 'machines');
  const store = await openStore(dbPath(values.db), { mustExist: true });
  const runtime = createRuntime({ store, machines: registry });
  try {
    const actor = await store.getActor(actorId);
    if (!actor) throw new CliError(`no run or actor with id '${actorId}' (list runs with \`spine runs\`)`);
    try {
      // Validated and stored before any host starts: a refused event claims no run's work.
      await runtime.send(actorId, event, { source: 'cli' });
    } catch (error) {
      if (error instanceof SpineError && !error.code.startsWith('storage_')) throw new CliError(error.message);
      throw error;
    }
    await restoreBreakers(store); // a provider failing before this process started stays open
    await runtime.start();
    const outcome = await runtime.waitForRun(actor.runId, { horizonMs: 0 });
    const root = await store.getActor(actor.runId);
    if (values.json) process.stdout.write(`${JSON.stringify({ accepted: true, outcome })}\n`);
    else process.stdout.write(`accepted; run ${actor.runId} is ${root?.status} in state ${stateText(root?.stateValue ?? null)}\n`);
    return outcome.status === 'error' ? EXIT.failed : EXIT.done;
  } finally {
    await runtime.stop();
    await store.close();
  }
}
