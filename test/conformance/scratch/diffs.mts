import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scxmlCases } from '../corpus/scxmlCases.js';
import { xstateCases } from '../corpus/xstateCases.js';
import { compareCase } from '../harness/compareCase.js';
const cases = [...scxmlCases().cases, ...xstateCases].filter((c) => !process.argv[2] || c.name.includes(process.argv[2]));
const dir = mkdtempSync('/dev/shm/conf-');
const out: { name: string; variant: string; detail: string }[] = [];
const queue = [...cases];
await Promise.all(Array.from({ length: 6 }, async () => {
  for (let c = queue.shift(); c; c = queue.shift()) {
    const { outcomes } = await compareCase(c, dir);
    for (const [variant, o] of Object.entries(outcomes)) if (o!.kind !== 'identical') out.push({ name: c.name, variant, detail: (o as { detail: string }).detail });
  }
}));
out.sort((a, b) => a.name.localeCompare(b.name) || a.variant.localeCompare(b.variant));
writeFileSync('/tmp/conf-diffs.json', JSON.stringify(out, null, 1));
console.log(out.length);
