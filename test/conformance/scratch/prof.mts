import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scxmlCases } from '../corpus/scxmlCases.js';
import { runOracle } from '../harness/runOracle.js';
import { runDurable } from '../harness/runDurable.js';
const { cases } = scxmlCases();
const dir = mkdtempSync(join(tmpdir(), 'conf-'));
const c = cases.find((x) => x.name === 'scxml/basic/basic1')!;
for (let k = 0; k < 3; k++) {
let t = performance.now(); const o = await runOracle(c); console.log('oracle', performance.now() - t);
t = performance.now(); await runDurable(c, o.inputs, join(dir, `b${k}.db`), { reopen: false }); console.log('b', performance.now() - t);
t = performance.now(); await runDurable(c, o.inputs, join(dir, `c${k}.db`), { reopen: true }); console.log('c', performance.now() - t);
}
