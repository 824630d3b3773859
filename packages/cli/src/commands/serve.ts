import { existsSync } from 'node:fs';
import { createRuntime, type Runtime } from '@spine/runtime';
import { evalsOverview } from '@spine/evals';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { loadMachines } from '../loadMachines.js';
import { evalsFileFor, openStore } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';
import { startStudio } from '../startStudio.js';
import { bundledStudioDir } from '../studioDir.js';
import { help } from '../help.js';

const usage = 'spine serve [--db FILE] [--port N] [--host H] [--machines DIR] [--poll-ms N]';

/**
 * `spine serve`: the studio and its API over one database. It also hosts the
 * machines it finds, so events sent from the studio are validated and applied.
 */
export async function serve(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, port: { type: 'string' }, host: { type: 'string' }, 'poll-ms': { type: 'string' } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const port = intArg(values.port, '--port', 4321);
  // Events other processes send wake this host at once (see SqliteStore.wakeHosts); the poll is the fallback.
  const pollIntervalMs = intArg(values['poll-ms'], '--poll-ms', 100);
  if (pollIntervalMs < 1) throw new CliError(`--poll-ms must be at least 1\nusage: ${usage}`);
  const machinesDir = values.machines ?? (existsSync('machines') ? 'machines' : undefined);
  const registry = machinesDir ? await loadMachines(machinesDir) : undefined;
  const store = await openStore(dbPath(values.db));
  let runtime: Runtime | undefined;
  try {
    if (registry?.names().length) {
      runtime = createRuntime({ store, machines: registry, pollIntervalMs });
      await restoreBreakers(store); // a provider failing before this process started stays open
      await runtime.start();
    }
    const server = await startStudio({ store, ...bundledStudioDir(), evals: () => evalsOverview(evalsFileFor(dbPath(values.db))), ...(runtime ? { runtime } : {}), port, ...(values.host ? { host: values.host } : {}), ...(machinesDir ? { machinesDir } : {}) });
    process.stdout.write(`Spine studio: ${server.url}\n`);
    if (!runtime) process.stderr.write('spine serve: no machines found (--machines DIR); runs can be watched but not driven from here\n');
    const failed = await new Promise<Error | undefined>((resolve) => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
      void runtime?.failed.then(resolve);
    });
    await server.close();
    if (failed) throw failed; // a storage error no retry can fix: one message, a non-zero exit
    return EXIT.done;
  } finally {
    await runtime?.stop();
    await store.close();
  }
}
