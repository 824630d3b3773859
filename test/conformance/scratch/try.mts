import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scxmlCases } from '../corpus/scxmlCases.js';
import { xstateCases } from '../corpus/xstateCases.js';
import { runOracle } from '../harness/runOracle.js';
import { runDurable } from '../harness/runDurable.js';
import { firstDifference } from '../harness/observe.js';
const { cases: sc, unsupported } = scxmlCases();
const cases = [...sc, ...xstateCases];
console.log('cases', cases.length, 'unsupported', unsupported.length);
const filter = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), 'conf-'));
let same = 0, diff = 0, oracleFail = 0; const t0 = Date.now();
for (const c of cases) {
  if (filter && !c.name.includes(filter)) continue;
  let o;
  try { o = await runOracle(c); } catch (e) { oracleFail++; console.log('ORACLE', c.name, (e as Error).message); continue; }
  const last = o.observations.at(-1)!;
  for (const reopen of [false, true]) {
    let d; try { d = await runDurable(c, o.inputs, join(dir, `${c.name.replace(/\W/g,'_')}-${reopen}.db`), { reopen }); } catch (e) { diff++; console.log('DURABLE', reopen?'c':'b', c.name, (e as Error).message.slice(0,200)); continue; }
    let found;
    for (let i = 0; i < o.observations.length; i++) { const f = d[i] ? firstDifference(o.observations[i]!, d[i]!) : 'missing'; if (f) { found = `#${i}: ${f} [spine error: ${d[i]?.error}] [xstate error: ${o.observations[i]?.error}]`; break; } }
    if (found) { diff++; console.log('DIFF', reopen?'c':'b', c.name, found.slice(0, 700)); } else same++;
  }
  if (process.env.V) console.log(c.name, JSON.stringify(last.value), last.status);
}
console.log({ same, diff, oracleFail, ms: Date.now() - t0 });
rmSync(dir, { recursive: true, force: true });
if (process.env.DUMP) {
  const c = cases.find((x) => x.name.includes(filter!))!;
  const o = await runOracle(c);
  console.log(JSON.stringify(o.inputs));
  o.observations.forEach((x, i) => console.log('X', i, JSON.stringify(x)));
  const d = await runDurable(c, o.inputs, join(mkdtempSync(join(tmpdir(), 'conf-')), 'x.db'), { reopen: false });
  d.forEach((x, i) => console.log('S', i, JSON.stringify(x)));
}
