import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NewActor, StepCommit } from '@spine/runtime/store';
import { SqliteStore } from '@spine/store-sqlite';
import { appliedV8Flags } from './v8Flags.js';

/** One timed command of `spine bench`: the median of fresh `spine` processes (after one warm-up), and its target. */
export interface CommandFigure {
  id: 'node' | 'runs-help' | 'runs' | 'show' | 'show-all';
  command: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** The target, when it has one: the median must stay below it. */
  targetMs?: number;
}

/** `spine send` -> committed by a live host in another process (SQLite's wake file), in milliseconds. */
export interface SendFigure {
  sends: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  targetP50Ms: number;
}

/** What the research pipeline (`spine demo`, offline) stores per step: record payloads after the runs, by table. */
export interface StorageFigure {
  runs: number;
  steps: number;
  /** Bytes per step of every table and index (SQLite `dbstat` payload: the records, without free space or page headers). */
  bytesPerStep: number;
  byTable: Record<string, number>;
  targetBytesPerStep: number;
}

const bin = fileURLToPath(new URL('../bin/spine.js', import.meta.url));

/**
 * The command figures of issue 10, each from fresh processes: `spine runs --help`, `spine runs`
 * over `runs` runs and `spine show` of one `steps`-step run (its first page, and every step as
 * JSON), next to a bare `node -e 0`. The databases are written through the store first.
 */
export async function measureCommands(dir: string, options: { runs: number; steps: number; repeat: number }): Promise<CommandFigure[]> {
  const runsDb = join(dir, 'runs.db');
  const longDb = join(dir, 'long.db');
  await manyRuns(runsDb, options.runs);
  await longRun(longDb, options.steps);
  const runs = options.runs.toLocaleString('en-US');
  const steps = options.steps.toLocaleString('en-US');
  const cases: [CommandFigure['id'], string, string[], number?][] = [
    ['node', 'node -e 0 (bare node, for reference)', ['-e', '0']],
    ['runs-help', 'spine runs --help', [bin, 'runs', '--help'], 200],
    ['runs', `spine runs (${runs} runs)`, [bin, 'runs', '--db', runsDb], 200],
    ['show', `spine show (${steps}-step run, first page)`, [bin, 'show', 'long', '--db', longDb], 500],
    ['show-all', `spine show --limit ${options.steps} --json (every step)`, [bin, 'show', 'long', '--db', longDb, '--limit', String(options.steps), '--json']],
  ];
  return cases.map(([id, command, args, targetMs]) => {
    const t = timeProcess(args, options.repeat);
    return { id, command, medianMs: t[t.length >> 1]!, minMs: t[0]!, maxMs: t.at(-1)!, ...(targetMs ? { targetMs } : {}) };
  });
}

/**
 * Times a command from a small process of its own, as a shell starts it, not by forking the
 * bench's own large process (LangGraph.js loaded, databases open; measured, that fork added ~5 ms
 * to a 185 ms start). The first run warms the file cache and is left out.
 */
const TIMER = `
const { spawnSync } = require('node:child_process');
const [args, repeat] = JSON.parse(process.argv[1]);
const out = [];
for (let i = 0; i <= repeat; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t0;
  if (r.status !== 0) { process.stderr.write(args.join(' ') + ' exited ' + r.status + ': ' + r.stderr); process.exit(1); }
  if (i > 0) out.push(ms);
}
process.stdout.write(JSON.stringify(out));
`;

function timeProcess(args: string[], repeat: number): number[] {
  const r = spawnSync(process.execPath, ['-e', TIMER, JSON.stringify([args, repeat])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: ${r.stderr}`);
  return (JSON.parse(r.stdout) as number[]).sort((a, b) => a - b);
}

async function manyRuns(path: string, runs: number): Promise<void> {
  let clock = Date.now() - runs;
  const store = await SqliteStore.open(path, { now: () => clock });
  for (let done = 0; done < runs; done += 1000) {
    clock += 1000;
    const actors: NewActor[] = Array.from({ length: Math.min(1000, runs - done) }, (_, i) => ({ id: `run-${done + i}`, runId: `run-${done + i}`, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }));
    await store.createActors(actors, []);
  }
  await store.close();
}

async function longRun(path: string, steps: number): Promise<void> {
  const store = await SqliteStore.open(path);
  await store.createActors([{ id: 'long', runId: 'long', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], []);
  const ids = await store.enqueue(Array.from({ length: steps }, () => ({ actorId: 'long', type: 'go', event: '{"type":"go"}', dueAt: 0, source: 'external' })));
  for (let seq = 0; seq < steps; seq++) {
    const commit: StepCommit = {
      actorId: 'long',
      expectedSeq: seq,
      eventId: ids[seq]!,
      snapshot: `{"status":"active","value":"s${seq % 7}","context":{"n":${seq}}}`,
      stateValue: `"s${seq % 7}"`,
      status: 'active',
      output: null,
      error: null,
      history: { eventType: 'go', event: '{"type":"go"}', version: 'v1', emitted: null, startedAt: seq, durationUs: 5 },
      messages: [],
      cancelTimers: [],
      jobs: seq % 2 ? [] : [{ key: `long:${seq + 1}:0`, actorId: 'long', runId: 'long', childId: 'work', src: 'work', input: '{}', runAt: 0 }],
      cancelJobs: [],
      spawn: [],
      stop: [],
      deadLetters: [],
    };
    await store.commitStep(commit);
  }
  await store.close();
}

/**
 * Send-to-commit latency across processes: a host in a child process drives a run and polls only
 * once a minute; this process stores an event for it, wakes it as `spine send` does
 * (`wakeHosts()`), and times each until the host's step is committed.
 */
export async function measureSend(path: string, sends: number): Promise<SendFigure> {
  const host = spawn(process.execPath, [...appliedV8Flags(), fileURLToPath(new URL('./benchServe.js', import.meta.url)), path], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((ready, fail) => {
      host.stdout.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && ready());
      host.on('exit', (code) => fail(new Error(`bench: the host process exited ${code} before it was ready`)));
    });
    const store = await SqliteStore.open(path);
    const latencies: number[] = [];
    try {
      for (let i = 0; i < sends; i++) {
        const seq = 2 + i;
        const t0 = performance.now();
        await store.enqueue([{ actorId: 'live', type: 'tick', event: `{"type":"tick","n":${i}}`, dueAt: Date.now(), source: 'bench' }]);
        store.wakeHosts();
        while (!(await store.historyRow('live', seq))) await new Promise((r) => setTimeout(r, 1));
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 20)); // not in phase with anything
      }
    } finally {
      await store.close();
    }
    latencies.sort((a, b) => a - b);
    const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
    return { sends, p50Ms: at(0.5), p90Ms: at(0.9), maxMs: latencies.at(-1)!, targetP50Ms: 20 };
  } finally {
    host.stdin.end();
    await new Promise((r) => (host.exitCode === null ? host.on('exit', r) : r(undefined)));
  }
}

/**
 * Storage of the research pipeline: `runs` runs of `spine demo` (offline, on its scripted model
 * server; provider variables are removed so nothing is paid) into one database, then the payload
 * bytes SQLite keeps per history step for every table and its indexes. Undefined with the reason
 * when the repository's `machines/` folder is not where the bench runs.
 */
export async function measureStorage(dir: string, runs: number): Promise<StorageFigure | { missing: string }> {
  const machines = resolve('machines');
  if (!existsSync(join(machines, 'pipeline.ts'))) return { missing: `the research pipeline's machines are not in ${machines} (run spine bench from the Spine repository)` };
  const path = join(dir, 'pipeline.db');
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'SPINE_MODEL']) delete env[name];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [bin, 'demo', '--db', path, '--machines', machines, '--approve', 'auto', '--topic', `durable execution ${i}`, '--json'], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`bench: spine demo exited ${r.status}: ${r.stderr}`);
  }
  const store = await SqliteStore.open(path, { readonly: true });
  try {
    const steps = store.db.prepare('SELECT COUNT(*) FROM history').pluck().get() as number;
    const rows = store.db.prepare('SELECT m.tbl_name AS t, SUM(d.payload) AS bytes FROM dbstat d JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name ORDER BY 2 DESC').all() as { t: string; bytes: number }[];
    const byTable = Object.fromEntries(rows.filter((r) => r.bytes > 0).map((r) => [r.t, Math.round(r.bytes / steps)]));
    const total = rows.reduce((sum, r) => sum + r.bytes, 0);
    return { runs, steps, bytesPerStep: Math.round(total / steps), byTable, targetBytesPerStep: 1024 };
  } finally {
    await store.close();
  }
}
