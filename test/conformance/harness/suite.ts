import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { compareCase, knownDifferences, Tally } from './compareCase.js';
import type { ConformanceCase } from './MachineSpec.js';
import type { Observation } from './observe.js';

/** Longest a case may take (all of its variants) before it fails with its name. */
export const CASE_TIMEOUT_MS = 60_000;

/**
 * Declares one vitest test per case: the oracle, then variants (b) and (c) on a real
 * SQLite file, compared after every input. A case passes when every variant is
 * identical or its difference is listed in known-differences.json. The summary line
 * per variant is printed when the file ends.
 */
export function conformanceSuite(label: string, cases: ConformanceCase[], note = ''): void {
  // A case mostly waits (SQLite, the host's scheduling), so many run at once in this one file.
  vi.setConfig({ maxConcurrency: 16 });
  // Real SQLite files, on tmpfs where there is one: the suite compares semantics, and fsync waits on a shared disk are not part of them.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `spine-conformance-${label}-`));
  const tally = new Tally(knownDifferences());
  let oracleRan = 0;
  let fixtureChecked = 0;
  let fixturePassed = 0;
  afterAll(() => {
    const lines = [
      `conformance ${label} (a): xstate ran ${oracleRan}/${cases.length} cases` +
        (fixtureChecked ? `; xstate meets the fixture's own expected configuration in ${fixturePassed}/${fixtureChecked}` : '') +
        note,
      ...tally.summary(label),
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const testCase of cases) {
    it.concurrent(
      testCase.name,
      async () => {
        const { oracle, outcomes } = await compareCase(testCase, dir);
        oracleRan++;
        if (testCase.expectedConfiguration) {
          fixtureChecked++;
          if (meetsConfiguration(oracle.observations.at(-1)!, testCase.expectedConfiguration)) fixturePassed++;
        }
        const unexplained: string[] = [];
        for (const [variant, outcome] of Object.entries(outcomes) as [keyof typeof outcomes, NonNullable<(typeof outcomes)['b']>][]) {
          tally.add(testCase.name, variant, outcome);
          const why = tally.unexplained(testCase.name, variant, outcome);
          if (why) unexplained.push(`(${variant}) ${why}`);
        }
        expect(unexplained, `${testCase.name} (${testCase.source}) differs from xstate and is not in known-differences.json`).toEqual([]);
      },
      CASE_TIMEOUT_MS,
    );
  }
}

/** Whether every id of the expected configuration is an active state of the observed value. */
function meetsConfiguration(observation: Observation, ids: string[]): boolean {
  const active = new Set<string>();
  const walk = (value: unknown) => {
    if (typeof value === 'string') active.add(value);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        active.add(key);
        walk(child);
      }
    }
  };
  walk(observation.value);
  return ids.every((id) => active.has(id));
}
