/**
 * The processes of variant (d). Run as
 * `node --conditions=@spine/source --import tsx crashHost.ts <case name> <db file> <inputs JSON> <mode>`.
 *
 * Mode `hang:<n>`: hosts the case's run on the SQLite file and drives the inputs as variant (b)
 * does, printing `begin <i>` before input i (-1 = start). When activity start n (0-based, counting
 * every start) begins, it prints `hanging <src>` and never returns: the parent SIGKILLs the
 * process there, in the middle of that activity.
 *
 * Mode `resume:<i>`: the program started again after the kill during input i: a new host on the
 * same file (the same code, so the same machine version) settles the run, then drives the
 * remaining inputs, printing `observation <index> <json>` after each.
 */
import { SimulatedClock } from '@spine/runtime';
import { xstateCases } from '../corpus/xstateCases.js';
import type { CaseInput } from './MachineSpec.js';
import { applyInput, closeHost, EPOCH, observeDurable, openHost, RUN_ID, settle } from './runDurable.js';

const [caseName, file, inputsJson, mode] = process.argv.slice(2);
const testCase = xstateCases.find((c) => c.name === caseName);
const [kind, numberText] = (mode ?? '').split(':');
if (!testCase || !file || !inputsJson || (kind !== 'hang' && kind !== 'resume') || !numberText) {
  process.stderr.write(`crashHost: unknown case or bad arguments (${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}
const inputs = JSON.parse(inputsJson) as CaseInput[];
const n = Number(numberText);
const say = (line: string) => process.stdout.write(`${line}\n`);
const clock = new SimulatedClock(EPOCH);

if (kind === 'hang') {
  let starts = 0;
  const host = await openHost(file, testCase, clock, `crash-host-${process.pid}`, [], {
    beforeActivity: async (src) => {
      if (starts++ !== n) return;
      say(`hanging ${src}`);
      await new Promise<never>(() => {});
    },
  });
  say('begin -1');
  await host.runtime.startRun(testCase.spec.name, { input: testCase.input, runId: RUN_ID });
  await settle(host, clock, testCase.name, 60_000);
  for (const [i, input] of inputs.entries()) {
    say(`begin ${i}`);
    await applyInput(host, clock, input);
    await settle(host, clock, testCase.name, 60_000);
  }
  say('finished');
} else {
  // The killed host had moved its clock through the input it was processing.
  for (let i = 0; i <= n; i++) {
    const input = inputs[i];
    if (input?.kind === 'advance') clock.advance(input.ms);
  }
  const starts: string[] = [];
  const host = await openHost(file, testCase, clock, `resumed-host-${process.pid}`, starts);
  try {
    await settle(host, clock, testCase.name, 30_000);
    say(`observation ${n + 1} ${JSON.stringify(await observeDurable(host.store, clock, starts))}`);
    for (let i = n + 1; i < inputs.length; i++) {
      await applyInput(host, clock, inputs[i]!);
      await settle(host, clock, testCase.name, 30_000);
      say(`observation ${i + 1} ${JSON.stringify(await observeDurable(host.store, clock, starts))}`);
    }
  } finally {
    await closeHost(host);
  }
  say('finished');
}
