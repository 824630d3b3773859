import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseInput, ConformanceCase } from '../harness/MachineSpec.js';
import { scxmlToSpec, Unsupported } from '../harness/scxmlToSpec.js';

/** The SCION/W3C fixtures, vendored from `@scion-scxml/test-framework@2.0.16` (test/), with their licences. */
export const SCXML_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'scxml');

interface ScionTest {
  initialConfiguration: string[];
  events: { after?: number; event: { name: string; data?: unknown }; nextConfiguration: string[] }[];
}

/** Every fixture as a case, and those the conversion does not cover with the reason. */
export function scxmlCases(): { cases: ConformanceCase[]; unsupported: { name: string; reason: string }[] } {
  const cases: ConformanceCase[] = [];
  const unsupported: { name: string; reason: string }[] = [];
  for (const group of readdirSync(SCXML_FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const file of readdirSync(join(SCXML_FIXTURES, group)).filter((f) => f.endsWith('.scxml')).sort()) {
      const test = file.slice(0, -'.scxml'.length);
      const name = `scxml/${group}/${test}`;
      const xml = readFileSync(join(SCXML_FIXTURES, group, file), 'utf8');
      const expected = JSON.parse(readFileSync(join(SCXML_FIXTURES, group, `${test}.json`), 'utf8')) as ScionTest;
      try {
        const spec = scxmlToSpec(xml, name.replace(/[^\w-]/g, '_'));
        const inputs: CaseInput[] = [];
        for (const { after, event } of expected.events) {
          if (after) inputs.push({ kind: 'advance', ms: after });
          inputs.push({ kind: 'event', event: event.data === undefined ? { type: event.name } : { type: event.name, data: event.data } });
        }
        const last = expected.events.at(-1);
        const expectedConfiguration = (last ? last.nextConfiguration : expected.initialConfiguration).map((id) => id.replace(/\./g, '$'));
        cases.push({ name, source: `@scion-scxml/test-framework test/${group}/${file}`, spec, inputs, drainTimers: 10, expectedConfiguration });
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        unsupported.push({ name, reason: error.message });
      }
    }
  }
  return { cases, unsupported };
}
