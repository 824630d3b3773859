/**
 * Stand-in for `spine serve` while the CLI has no `serve` command: the same
 * flags (--db FILE --port N --host H --machines DIR) and the same first line,
 * `Spine studio: http://HOST:PORT`. Run with `node --import tsx`.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { createRuntime, loadMachineDirectory, MachineRegistry, type Runtime } from '@spine/runtime';
import { startServer } from '@spine/server';
import { SqliteStore } from '@spine/store-sqlite';
import { tsImport } from 'tsx/esm/api';

const { values } = parseArgs({
  options: { db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, machines: { type: 'string' } },
  strict: true,
});
const store = await SqliteStore.open(values.db ?? '.spine/spine.db');
let runtime: Runtime | undefined;
if (values.machines) {
  const dir = resolve(values.machines);
  const parent = pathToFileURL(`${dir}/`).href;
  const definitions = await loadMachineDirectory(dir, {
    importModule: (url) => (/\.(c|m)?ts$/.test(url) ? tsImport(url, parent) : import(url)) as Promise<Record<string, unknown>>,
  });
  const registry = new MachineRegistry();
  for (const definition of definitions) registry.register(definition);
  runtime = createRuntime({ store, machines: registry });
  await runtime.start();
}
try {
  const server = await startServer({
    store,
    ...(runtime ? { runtime } : {}),
    port: Number(values.port ?? 4321),
    ...(values.host ? { host: values.host } : {}),
    ...(values.machines ? { machinesDir: values.machines } : {}),
  });
  process.stdout.write(`Spine studio: ${server.url}\n`);
  const stop = async () => {
    await server.close();
    await runtime?.stop();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
} catch (error) {
  process.stderr.write(`spine: ${(error as Error).message}\n`);
  await runtime?.stop();
  await store.close();
  process.exit(2);
}
