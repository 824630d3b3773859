import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xstateCases } from '../corpus/xstateCases.js';
import { runOracle } from '../harness/runOracle.js';
import { runDurable } from '../harness/runDurable.js';
const dir = mkdtempSync(join(tmpdir(), 'conf-'));
let k = 0;
for (const c of xstateCases.filter((x) => x.name.includes(process.argv[2] ?? 'after/should transition after delay'))) {
  let t = performance.now(); const o = await runOracle(c); const ta = performance.now() - t;
  t = performance.now(); await runDurable(c, o.inputs, join(dir, `b${k}.db`), { reopen: false }); const tb = performance.now() - t;
  t = performance.now(); await runDurable(c, o.inputs, join(dir, `c${k++}.db`), { reopen: true }); const tc = performance.now() - t;
  console.log(ta.toFixed(0), tb.toFixed(0), tc.toFixed(0), o.inputs.length, c.name);
}
