import { createRuntime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { benchMachine } from './benchMachine.js';

// Child process of `spine bench`: starts a host over a database of waiting actors, then wakes
// every one of them with an event (all sent at once) and reports how long start and the wake-up
// took and the process's peak RSS.
const [path] = process.argv.slice(2);
const t0 = performance.now();
const store = await SqliteStore.open(path!);
const runtime = createRuntime({ store, machines: [benchMachine()] });
await runtime.start();
await runtime.idle();
const startMs = performance.now() - t0;
const waiting = await store.listActors({ status: ['active'], limit: 1_000_000 });
const t1 = performance.now();
await store.enqueue(waiting.map((a) => ({ actorId: a.id, type: 'tick', event: '{"type":"tick","n":1}', dueAt: 0, source: 'bench' })));
await runtime.poke();
await runtime.idle();
const wakeMs = performance.now() - t1;
const woken = (await store.listActors({ status: ['active'], limit: 1_000_000 })).filter((a) => a.seq === 2).length;
const peakRss = process.resourceUsage().maxRSS * 1024;
await runtime.stop();
await store.close();
process.stdout.write(JSON.stringify({ actors: waiting.length, woken, startMs, wakeMs, peakRss }));
