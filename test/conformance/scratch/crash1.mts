import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '@spine/store-sqlite';
import { xstateCases } from '../corpus/xstateCases.js';
import { runOracle } from '../harness/runOracle.js';
import { runCrash } from '../harness/runCrash.js';
const c = xstateCases.find((x) => x.name.includes('resolve through onDone'))!;
const o = await runOracle(c);
const file = join(mkdtempSync('/dev/shm/conf-'), 'x.db');
try { const r = await runCrash(c, o.inputs, file, 0, 8000); console.log(r); } catch (e) { console.log((e as Error).message.slice(0, 300)); }
const store = await SqliteStore.open(file);
for (const a of await store.listActors({})) console.log(a.id, a.owner, a.status, a.stateValue, a.seq);
console.log(await store.listJobs({ runId: 'case' }));
console.log(await store.nextEvents('case', Date.now() * 2, 10));
console.log(await store.heartbeat({ id: 'x', hostname: 'y', pid: 1, startedAt: 0, heartbeatAt: 0 }));
