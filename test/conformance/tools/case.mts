/**
 * Runs the cases whose name contains the argument and prints, input by input, what xstate and
 * the durable host (variant b) showed: the smallest way to look at one difference.
 *
 *   cd test && node --conditions=@spine/source --import tsx conformance/tools/case.mts test187
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scxmlCases } from '../corpus/scxmlCases.js';
import { xstateCases } from '../corpus/xstateCases.js';
import { runDurable } from '../harness/runDurable.js';
import { runOracle } from '../harness/runOracle.js';

const part = process.argv[2] ?? '';
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spine-conformance-tool-'));
for (const testCase of [...scxmlCases().cases, ...xstateCases].filter((c) => c.name.includes(part))) {
  const oracle = await runOracle(testCase);
  const durable = await runDurable(testCase, oracle.inputs, join(dir, 'case.db'), { reopen: process.env.REOPEN === '1' }).catch((error: Error) => error);
  process.stdout.write(`# ${testCase.name} (${testCase.source})\ninputs: ${JSON.stringify(oracle.inputs)}\n`);
  oracle.observations.forEach((observation, i) => {
    process.stdout.write(`xstate #${i} ${JSON.stringify(observation)}\n`);
    process.stdout.write(`spine  #${i} ${durable instanceof Error ? durable.message : JSON.stringify(durable[i])}\n`);
  });
  rmSync(join(dir, 'case.db'), { force: true });
}
rmSync(dir, { recursive: true, force: true });
