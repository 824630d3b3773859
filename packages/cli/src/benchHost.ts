import { createRuntime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { benchMachine } from './benchMachine.js';

// Child process of `spine bench`: starts a host over an existing database and reports
// how long start() took and the process RSS afterwards.
const [path] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const store = await SqliteStore.open(path!);
const runtime = createRuntime({ store, machines: [benchMachine()] });
await runtime.start();
await runtime.idle();
const startMs = performance.now() - t0;
const rss = process.memoryUsage().rss;
await runtime.stop();
await store.close();
process.stdout.write(JSON.stringify({ startMs, rss, rssBefore }));
