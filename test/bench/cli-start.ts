/**
 * CLI start and read benchmark, hyperfine-like: runs each command `--repeat` times (after one
 * warm-up) as a fresh `node packages/cli/bin/spine.js` process and prints min / median / max
 * wall time, next to a bare `node -e 0`. The databases are built first through the Store: 100,000
 * runs (for `spine runs`) and one 10,000-step run (for `spine show`).
 *
 *   node --conditions=@spine/source --import tsx test/bench/cli-start.ts [--repeat 15] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { NewActor, StepCommit } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '15' }, json: { type: 'boolean', default: false } }, strict: true });
const repeat = Number(values.repeat);
const bin = fileURLToPath(new URL('../../packages/cli/bin/spine.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spine-cli-start-'));

async function manyRuns(path: string, runs: number) {
  let clock = Date.now() - runs;
  const store = await SqliteStore.open(path, { now: () => clock });
  for (let batch = 0; batch < runs / 1000; batch++) {
    clock += 1000;
    const actors: NewActor[] = Array.from({ length: 1000 }, (_, i) => ({ id: `run-${batch}-${i}`, runId: `run-${batch}-${i}`, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }));
    await store.createActors(actors, []);
  }
  await store.close();
}

async function longRun(path: string, steps: number) {
  const store = await SqliteStore.open(path);
  await store.createActors([{ id: 'long', runId: 'long', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
  const ids = await store.enqueue(Array.from({ length: steps }, () => ({ actorId: 'long', type: 'go', event: '{"type":"go"}', dueAt: 0, source: 'external' })));
  for (let seq = 0; seq < steps; seq++) {
    const commit: StepCommit = {
      actorId: 'long', expectedSeq: seq, eventId: ids[seq]!, snapshot: `{"status":"active","value":"s${seq % 7}","context":{}}`, stateValue: `"s${seq % 7}"`, status: 'active', output: null, error: null,
      history: { eventType: 'go', event: '{"type":"go"}', version: 'v1', emitted: null, startedAt: seq, durationUs: 5 },
      messages: [], cancelTimers: [], jobs: seq % 2 ? [] : [{ key: `long:${seq + 1}:0`, actorId: 'long', runId: 'long', childId: 'work', src: 'work', input: '{}', runAt: 0 }], cancelJobs: [], spawn: [], stop: [], deadLetters: [],
    };
    await store.commitStep(commit);
  }
  await store.close();
}

function time(args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i <= repeat; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) out.push(ms); // the first run warms the file cache
  }
  return out.sort((a, b) => a - b);
}

try {
  const runsDb = join(dir, 'runs.db');
  const longDb = join(dir, 'long.db');
  await manyRuns(runsDb, 100_000);
  await longRun(longDb, 10_000);
  const cases: [string, string[]][] = [
    ['node -e 0 (bare node)', ['-e', '0']],
    ['spine --help', [bin, '--help']],
    ['spine runs --help', [bin, 'runs', '--help']],
    ['spine runs (100,000 runs)', [bin, 'runs', '--db', runsDb]],
    ['spine show (10,000-step run, first page)', [bin, 'show', 'long', '--db', longDb]],
    ['spine show --limit 10000 --json', [bin, 'show', 'long', '--db', longDb, '--limit', '10000', '--json']],
  ];
  const results = cases.map(([name, args]) => {
    const t = time(args);
    return { name, minMs: t[0]!, medianMs: t[Math.floor(t.length / 2)]!, maxMs: t.at(-1)! };
  });
  if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  else {
    process.stdout.write(`wall time over ${repeat} runs each (after one warm-up):\n`);
    for (const r of results) process.stdout.write(`  ${r.name.padEnd(44)} min ${r.minMs.toFixed(0).padStart(5)} ms  median ${r.medianMs.toFixed(0).padStart(5)} ms  max ${r.maxMs.toFixed(0).padStart(5)} ms\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
