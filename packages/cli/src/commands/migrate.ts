import { moveActorToVersion, SpineError } from '@spine/runtime';
import { dbOptions, dbPath, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { stateText } from '../format.js';
import { loadMachines } from '../loadMachines.js';
import { openStore } from '../openStore.js';
import { help } from '../help.js';

const usage = 'spine migrate <actorId|runId> [--to VERSION|current] [--as NAME] [--db FILE] [--machines DIR] [--json]';

/**
 * `spine migrate`: moves a running actor to another version of its machine
 * (default: the current one in --machines), only if the state it is in exists
 * there; otherwise it refuses, names the missing state, and changes nothing
 * (exit 1). A host that is driving the actor picks the new version up on its
 * next step.
 */
export async function migrate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, to: { type: 'string' }, as: { type: 'string' } }, usage);
  if (values.help) return help(usage);
  const [actorId, ...extra] = positionals;
  if (!actorId || extra.length) throw new CliError(`expected one actor or run id\nusage: ${usage}`);
  const registry = await loadMachines(values.machines ?? 'machines');
  const store = await openStore(dbPath(values.db), { mustExist: true });
  try {
    const actor = await store.getActor(actorId);
    if (!actor) throw new CliError(`no run or actor with id '${actorId}' (list runs with \`spine runs\`)`);
    if (!registry.has(actor.machine)) throw new CliError(`actor '${actorId}' runs machine '${actor.machine}', which is not in the machines directory (--machines DIR)`);
    let result;
    try {
      result = await moveActorToVersion(actorId, { store, registry, to: values.to ?? 'current', who: values.as ?? 'cli' });
    } catch (error) {
      if (error instanceof SpineError && error.code === 'unknown_version') throw new CliError(error.message);
      if (error instanceof SpineError) throw new CliError(error.message, EXIT.failed);
      throw error;
    }
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (!result.moved) process.stdout.write(`${actorId} is already on ${result.machine}@${result.to}; nothing to do\n`);
    else process.stdout.write(`moved ${actorId} from ${result.machine}@${result.from} to ${result.machine}@${result.to}, in state ${stateText(JSON.stringify(result.state))}\n`);
    return EXIT.done;
  } finally {
    await store.close();
  }
}
