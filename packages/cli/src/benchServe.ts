import { createRuntime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { benchMachine } from './benchMachine.js';

// Child process of `spine bench`: a live host over one run of the ring machine that polls only
// once a minute, so an event another process stores reaches it through the wake file alone.
// Prints `ready` once the run has started; stops when its stdin closes.
const [path] = process.argv.slice(2);
const store = await SqliteStore.open(path!);
const runtime = createRuntime({ store, machines: [benchMachine()], pollIntervalMs: 60_000 });
await runtime.start();
await runtime.startRun('ring', { runId: 'live' });
while ((await store.getActor('live'))?.seq !== 1) await new Promise((r) => setTimeout(r, 2));
process.stdout.write('ready\n');
process.stdin.resume();
await new Promise((r) => process.stdin.on('end', r));
await runtime.stop();
await store.close();
