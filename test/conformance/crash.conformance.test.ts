import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@spine/llm';
import { afterAll, expect, it } from 'vitest';
import { xstateCases } from './corpus/xstateCases.js';
import { knownDifferences, Tally, type Outcome } from './harness/compareCase.js';
import { firstDifference } from './harness/observe.js';
import { runCrash } from './harness/runCrash.js';
import { runOracle } from './harness/runOracle.js';

// Variant (d): a real process hosting the run is SIGKILLed in the middle of an activity; a new host
// resumes from the SQLite file. CI runs a seeded subset; SPINE_CONFORMANCE_FULL=1 runs every case that
// starts an activity (SPINE_CONFORMANCE_SEED picks another subset and other kill points).
const FULL = process.env.SPINE_CONFORMANCE_FULL === '1';
const SEED = Number(process.env.SPINE_CONFORMANCE_SEED ?? 9);
const CI_SUBSET = 3;
const TIMEOUT_MS = 60_000;

const withActivities = [];
for (const testCase of xstateCases) {
  const oracle = await runOracle(testCase);
  const starts = oracle.observations.at(-1)!.started.length;
  if (starts > 0) withActivities.push({ testCase, oracle, starts });
}
const random = seededRandom(SEED);
const shuffled = withActivities.map((c) => ({ c, k: random() })).sort((a, b) => a.k - b.k).map(({ c }) => c);
const selected = FULL ? withActivities : shuffled.slice(0, CI_SUBSET);

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spine-conformance-crash-'));
const tally = new Tally(knownDifferences());
afterAll(() => {
  process.stdout.write(`\n${tally.summary(`crash seed ${SEED}${FULL ? ' full' : ''}`).join('\n')} (of ${withActivities.length} cases with activities)\n`);
  rmSync(dir, { recursive: true, force: true });
});

for (const { testCase, oracle, starts } of selected) {
  const hangAt = Math.floor(random() * starts);
  it.concurrent(`${testCase.name} — killed during activity start #${hangAt}`, async () => {
    const crash = await runCrash(testCase, oracle.inputs, join(dir, `${testCase.name.replace(/[^\w-]+/g, '_').slice(0, 100)}.db`), hangAt, TIMEOUT_MS);
    let outcome: Outcome = { kind: 'identical' };
    for (const [index, observed] of crash.observations) {
      // `started` is left out: an activity in flight at a crash runs again (at most once per crash).
      const diff = firstDifference(oracle.observations[index]!, observed, ['status', 'value', 'context', 'output', 'children', 'emitted', 'nextTimerIn']);
      if (diff) {
        outcome = { kind: 'different', detail: `after input #${index} (killed during input #${crash.killedDuring}): ${diff}` };
        break;
      }
    }
    tally.add(testCase.name, 'd', outcome);
    expect(crash.observations.size).toBeGreaterThan(0);
    expect(tally.unexplained(testCase.name, 'd', outcome), `${testCase.name} differs from xstate after a crash`).toBeUndefined();
  }, TIMEOUT_MS * 2);
}
