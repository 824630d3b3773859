import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedClock } from '@spine/runtime';
import { xstateCases } from '../corpus/xstateCases.js';
import { openHost, closeHost, EPOCH, RUN_ID, observeDurable } from '../harness/runDurable.js';
const dir = mkdtempSync(join(tmpdir(), 'conf-'));
const c = xstateCases.find((x) => x.name.includes('after/should transition after delay'))!;
const clock = new SimulatedClock(EPOCH);
let t = performance.now();
const host = await openHost(join(dir, 'x.db'), c, clock, 'h');
console.log('open', performance.now() - t); t = performance.now();
await host.runtime.startRun(c.spec.name, { runId: RUN_ID });
console.log('startRun', performance.now() - t); t = performance.now();
for (let i = 0; i < 3; i++) {
  await host.runtime.poke(); console.log(' poke', performance.now() - t); t = performance.now();
  await host.runtime.idle(); console.log(' idle', performance.now() - t); t = performance.now();
  const a = await host.store.runActivity(RUN_ID, clock.now()); console.log(' activity', JSON.stringify(a), performance.now() - t); t = performance.now();
}
await observeDurable(host.store, clock, []); console.log('observe', performance.now() - t); t = performance.now();
clock.advance(1000);
await host.runtime.poke(); console.log(' poke', performance.now() - t); t = performance.now();
await host.runtime.idle(); console.log(' idle', performance.now() - t); t = performance.now();
await closeHost(host); console.log('close', performance.now() - t);
