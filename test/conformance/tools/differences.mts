/**
 * Lists every case that differs from xstate (variants b and c) as JSON, to review or to update
 * known-differences.json. Optional argument: a part of the case names to run.
 *
 *   cd test && node --conditions=@spine/source --import tsx conformance/tools/differences.mts [name-part] > diffs.json
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scxmlCases } from '../corpus/scxmlCases.js';
import { xstateCases } from '../corpus/xstateCases.js';
import { compareCase } from '../harness/compareCase.js';

const filter = process.argv[2];
const cases = [...scxmlCases().cases, ...xstateCases].filter((c) => !filter || c.name.includes(filter));
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spine-conformance-tool-'));
const differences: { name: string; variant: string; detail: string }[] = [];
const queue = [...cases];
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { outcomes } = await compareCase(next, dir);
      for (const [variant, outcome] of Object.entries(outcomes)) {
        if (outcome.kind === 'different') differences.push({ name: next.name, variant, detail: outcome.detail });
      }
    }
  }),
);
rmSync(dir, { recursive: true, force: true });
differences.sort((a, b) => a.name.localeCompare(b.name) || a.variant.localeCompare(b.variant));
process.stdout.write(`${JSON.stringify(differences, null, 1)}\n`);
process.stderr.write(`${differences.length} differences in ${cases.length} cases\n`);
