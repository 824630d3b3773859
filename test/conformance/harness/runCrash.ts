import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CaseInput, ConformanceCase } from './MachineSpec.js';
import type { Observation } from './observe.js';

const testDir = join(import.meta.dirname, '..', '..');

/** How a crash run went: where the process was killed and what the resumed run showed from there on. */
export interface CrashRun {
  /** The input whose processing the kill interrupted (-1 = the start). */
  killedDuring: number;
  /** Observations after the kill, by index (index = input index + 1, as the oracle's). */
  observations: Map<number, Observation>;
}

/**
 * Variant (d): runs the case in a real process (crashHost.ts), SIGKILLs it while activity
 * start `hangAt` is in flight, then starts the program again on the same SQLite file and
 * drives the rest of the inputs there. The activity in flight runs again after the crash.
 */
export async function runCrash(testCase: ConformanceCase, inputs: CaseInput[], file: string, hangAt: number, timeoutMs: number): Promise<CrashRun> {
  let current = -1;
  await runHost(testCase, inputs, file, `hang:${hangAt}`, timeoutMs, (line, child) => {
    const begin = /^begin (-?\d+)$/.exec(line);
    if (begin) current = Number(begin[1]);
    if (line.startsWith('hanging ')) {
      child.kill('SIGKILL');
      return true;
    }
    return false;
  });
  const killedDuring = current;
  const observations = new Map<number, Observation>();
  await runHost(testCase, inputs, file, `resume:${killedDuring}`, timeoutMs, (line) => {
    const match = /^observation (\d+) (.*)$/.exec(line);
    if (match) observations.set(Number(match[1]), JSON.parse(match[2]!) as Observation);
    return line === 'finished';
  });
  return { killedDuring, observations };
}

/** Runs crashHost.ts; resolves once `onLine` says the expected end was seen (and the process is gone). */
function runHost(
  testCase: ConformanceCase,
  inputs: CaseInput[],
  file: string,
  mode: string,
  timeoutMs: number,
  onLine: (line: string, child: ReturnType<typeof spawn>) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@spine/source', '--import', 'tsx', join('conformance', 'harness', 'crashHost.ts'), testCase.name, file, JSON.stringify(inputs), mode],
      { cwd: testDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let pending = '';
    let out = '';
    let err = '';
    let ended = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${testCase.name}: the ${mode} host did not finish within ${timeoutMs} ms\n${out.slice(-2000)}${err.slice(-2000)}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (onLine(line, child)) ended = true;
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (ended) resolve();
      else reject(new Error(`${testCase.name}: the ${mode} host exited (${signal ?? code}) early\n${out.slice(-2000)}${err.slice(-2000)}`));
    });
  });
}
