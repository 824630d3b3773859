/**
 * Load for the studio-lag benchmark: a separate host that starts `runs` stepper
 * runs and sends them `rate` events per second for `seconds`, each applied as
 * one committed step. Prints `ready <runIds>` once started, `done <json>` at the end.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRuntime, loadMachineDirectory } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { tsImport } from 'tsx/esm/api';

const { values } = parseArgs({
  options: { db: { type: 'string' }, machines: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' }, runs: { type: 'string' } },
  strict: true,
});
const rate = Number(values.rate ?? 1000);
const seconds = Number(values.seconds ?? 30);
const runCount = Number(values.runs ?? 4);
const dir = resolve(values.machines!);
const definitions = await loadMachineDirectory(dir, { importModule: (url) => tsImport(url, pathToFileURL(`${dir}/`).href) as Promise<Record<string, unknown>> });
const store = await SqliteStore.open(values.db!);
const runtime = createRuntime({ store, machines: definitions.filter((d) => d.name === 'stepper'), onError: () => {} });
await runtime.start();
const runIds: string[] = [];
for (let i = 0; i < runCount; i++) runIds.push((await runtime.startRun('stepper')).runId);
await runtime.idle();
process.stdout.write(`ready ${runIds.join(',')}\n`);
// Wait for the go signal so the clients are subscribed before the load starts.
await new Promise<void>((go) => process.stdin.once('data', () => go()));

const t0 = Date.now();
let sent = 0;
const end = t0 + seconds * 1000;
while (Date.now() < end) {
  const due = Math.floor(((Date.now() - t0) / 1000) * rate);
  while (sent < due) {
    const n = sent++;
    await runtime.send(runIds[n % runIds.length]!, { type: 'stepper.step', n, sentAt: Date.now() });
  }
  await new Promise((r) => setTimeout(r, 2));
}
await runtime.idle();
const elapsed = (Date.now() - t0) / 1000;
process.stdout.write(`done ${JSON.stringify({ sent, seconds: elapsed, rate: sent / elapsed })}\n`);
await runtime.stop();
await store.close();
