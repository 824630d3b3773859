import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createRuntime, encodeHistoryStep, encodeSnapshot, MachineRegistry, secretsFromEnv } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { BACKSTOP_FRAMES, Checkpointer } from '@spine/store-sqlite/checkpointer';
import { createActor, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { activityChain, benchMachine, workflowRunner, type BenchWorkflow } from '../benchMachine.js';
import { measureCommands, measureSend, measureStorage } from '../benchCommands.js';
import { inParallel, loadLangGraph, WARM_UP_RUNS, type Peer } from '../benchPeer.js';
import type { PostgresBenchOptions } from '../benchPostgres.js';
import { help } from '../help.js';
import { fmt, median, pairedRatio, v8Settings } from '../benchFigures.js';
import { appliedV8Flags } from '../v8Flags.js';

const usage = `spine bench [--quick] [--rounds N] [--runs N] [--waiting N] [--no-peer] [--json]
       spine bench --store postgres [--db postgres://…] [--quick] [--rounds N] [--runs N] [--no-peer] [--json]
         (the server: --db, else SPINE_TEST_PG_URL, else a private cluster started with scripts/postgres-cluster.mjs, fsync on)`;

/** What a figure survives: the durability it was measured at. */
export type Durability = 'NORMAL' | 'FULL' | 'memory';

/** The durability levels, in words (`spine bench` prints them beside each figure). */
export const DURABILITY: Record<Durability, string> = {
  NORMAL: 'synchronous=NORMAL: every commit survives a process crash (not a power loss)',
  FULL: 'synchronous=FULL: fsync per commit, survives a power loss',
  memory: 'none: in memory',
};

/** One measured figure: steps per second, the median of its interleaved rounds. */
export interface BenchFigure {
  id: string;
  system: 'spine' | 'langgraph' | 'floor';
  workflow: 'activity' | 'send' | 'bare-transaction' | 'transition';
  inFlight: number;
  durability: Durability;
  stepsPerSec: number;
  usPerStep: number;
  rounds: number[];
}

/** A ratio between two figures: the median of its rounds' ratios, each between the two figures of one round. */
export interface BenchRatio {
  name: string;
  durability: Durability;
  inFlight: number;
  ratio: number;
  rounds: number[];
}

const STEPS = 20;

/**
 * `spine bench`: in one run, with interleaved rounds and medians, the 20-step activity workflow
 * (each step an activity invoked by the machine, persisted before the next) and the 20-step send
 * workflow (each step an event sent from outside and applied before the next is sent), 1 and 100
 * runs in flight, at synchronous=NORMAL and FULL; LangGraph.js + SqliteSaver on the same activity
 * workflow at the same durability (when installed); the floors (a bare better-sqlite3 transaction
 * per step with its writes into Spine's tables, xstate's `transition()` in memory); and waking
 * 10,000 waiting actors.
 */
export async function bench(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, runs: { type: 'string' }, waiting: { type: 'string' }, 'no-peer': { type: 'boolean', default: false }, store: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    usage,
  );
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const quick = values.quick;
  const rounds = intArg(values.rounds, '--rounds', quick ? 1 : 3);
  if (rounds < 1) throw new CliError(`--rounds must be at least 1\nusage: ${usage}`);
  if (values.store !== undefined && values.store !== 'sqlite' && values.store !== 'postgres') throw new CliError(`--store must be sqlite or postgres, got '${values.store}'\nusage: ${usage}`);
  if (values.store === 'postgres') return benchOnPostgres({ url: values.db, quick, rounds: intArg(values.rounds, '--rounds', 1), runs: values.runs === undefined ? undefined : intArg(values.runs, '--runs', 0), noPeer: values['no-peer'], json: values.json });
  const waiting = intArg(values.waiting, '--waiting', quick ? 100 : 10_000);
  // Quick (for tests): every figure, on a handful of runs and no warm-up; 5 in flight stand for 100.
  const many = quick ? 5 : 100;
  const manyRuns = intArg(values.runs, '--runs', quick ? many : many * 3);
  if (manyRuns < many) throw new CliError(`--runs must be at least ${many} (the runs in flight)\nusage: ${usage}`);
  // 1 in flight: a third of the runs (100 by default, 2,000 steps), long enough to be steady (20 gave rounds 30% apart).
  const runsOf = (inFlight: number) => (inFlight === 1 ? (quick ? 1 : Math.max(1, Math.round(manyRuns / 3))) : manyRuns);
  const floorSteps = quick ? 100 : 20_000;
  const warmUp = !quick;
  const dir = mkdtempSync(join(tmpdir(), 'spine-bench-'));
  const log = (line: string) => !values.json && process.stderr.write(`${line}\n`);
  try {
    const peer = values['no-peer'] ? { missing: 'LangGraph.js peer left out (--no-peer)' } : await loadLangGraph();
    // Spine's hosts redact the secrets of the environment from what they write (a provider key, as most hosts have): said, since it costs a little.
    const secrets = secretsFromEnv().length;
    log(`spine bench: ${STEPS}-step workflows, ${rounds} interleaved round(s), medians; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; ${v8Settings(appliedV8Flags())}; ${secrets ? `${secrets} secret(s) from the environment redacted` : 'no secret in the environment to redact'}${quick ? ` (--quick: few runs, ${many} in flight for 100)` : ''}`);
    if ('missing' in peer) log(`  peer: ${peer.missing}`);
    const samples = new Map<string, { figure: Omit<BenchFigure, 'stepsPerSec' | 'usPerStep' | 'rounds'>; rounds: number[] }>();
    const record = (figure: Omit<BenchFigure, 'stepsPerSec' | 'usPerStep' | 'rounds' | 'id'>, stepsPerSec: number) => {
      const id = `${figure.system}.${figure.workflow}.${figure.inFlight}.${figure.durability}`;
      const entry = samples.get(id) ?? { figure: { id, ...figure }, rounds: [] };
      entry.rounds.push(stepsPerSec);
      samples.set(id, entry);
    };
    let file = 0;
    const fresh = () => join(dir, `b${file++}.db`);
    for (let round = 1; round <= rounds; round++) {
      log(`  round ${round}/${rounds}`);
      for (const durability of ['NORMAL', 'FULL'] as const) {
        for (const inFlight of [1, many]) {
          const runs = runsOf(inFlight);
          // Spine's lone runs in slices alternated with the floor's, and the peer just after: each
          // ratio below is taken within a round, between figures measured at the same moments or
          // back to back (this machine's speed drifts by a third from one minute to the next).
          if (inFlight === 1) {
            const floor = await openFloor(fresh(), durability);
            try {
              const spine = await openSpine('activity', fresh(), durability, warmUp);
              try {
                const rates = await floorAgainstSpine(floor, spine, floorSteps, runs);
                record({ system: 'floor', workflow: 'bare-transaction', inFlight: 1, durability }, rates.floor);
                record({ system: 'spine', workflow: 'activity', inFlight, durability }, rates.spine);
              } finally {
                await spine.close();
              }
            } finally {
              await floor.close();
            }
          } else record({ system: 'spine', workflow: 'activity', inFlight, durability }, await spineWorkflow('activity', fresh(), durability, runs, inFlight, warmUp));
          if (!('missing' in peer)) record({ system: 'langgraph', workflow: 'activity', inFlight, durability }, await (peer as Peer).measure(fresh(), durability, runs, inFlight, STEPS, warmUp));
          record({ system: 'spine', workflow: 'send', inFlight, durability }, await spineWorkflow('send', fresh(), durability, runs, inFlight, warmUp));
        }
      }
      record({ system: 'floor', workflow: 'transition', inFlight: 1, durability: 'memory' }, inMemory(floorSteps));
    }
    const figures: BenchFigure[] = [...samples.values()].map(({ figure, rounds: r }) => {
      const stepsPerSec = median(r);
      return { ...figure, stepsPerSec, usPerStep: 1e6 / stepsPerSec, rounds: r };
    });
    const get = (id: string) => figures.find((f) => f.id === id);
    const ratios: BenchRatio[] = [];
    for (const durability of ['NORMAL', 'FULL'] as const) {
      for (const inFlight of [1, many]) {
        const spine = get(`spine.activity.${inFlight}.${durability}`)!;
        const lg = get(`langgraph.activity.${inFlight}.${durability}`);
        if (lg) ratios.push({ name: 'Spine / LangGraph.js (activity workflow, steps/s)', durability, inFlight, ...pairedRatio(spine, lg) });
      }
      const floor = get(`floor.bare-transaction.1.${durability}`)!;
      const one = get(`spine.activity.1.${durability}`)!;
      // Time per step is the inverse of steps/s: the floor's rate over Spine's.
      ratios.push({ name: 'Spine activity step / bare transaction (time per step)', durability, inFlight: 1, ...pairedRatio(floor, one) });
    }
    const memory = get('floor.transition.1.memory')!;
    ratios.push({ name: 'Spine activity step / in-memory transition() (time per step)', durability: 'NORMAL', inFlight: 1, ...pairedRatio(memory, get('spine.activity.1.NORMAL')!) });

    log(`  waking ${waiting} waiting actors`);
    const wake = await wakeWaiting(fresh(), waiting);
    const sizes = quick ? { runs: 2_000, steps: 500, repeat: 1, sends: 5, pipelineRuns: 1 } : { runs: 100_000, steps: 10_000, repeat: 9, sends: 50, pipelineRuns: 5 };
    log(`  spine runs over ${sizes.runs} runs, spine show of a ${sizes.steps}-step run, spine runs --help (fresh processes)`);
    const commands = await measureCommands(dir, sizes);
    log('  spine send -> committed by a live host in another process');
    const send = { ...(await measureSend(fresh(), sizes.sends)), durability: 'NORMAL' as Durability };
    log(`  storage of the research pipeline (${sizes.pipelineRuns} offline spine demo runs)`);
    const storage = await measureStorage(dir, sizes.pipelineRuns);
    const targets = issueTargets(ratios, get, many, commands, send, storage);

    if (values.json) {
      const result = {
        quick,
        rounds,
        steps: STEPS,
        machine: { node: process.version, cpus: cpus().length, loadAverage: loadavg()[0], v8Flags: appliedV8Flags(), secretsRedacted: secrets },
        durability: DURABILITY,
        peer: 'missing' in peer ? { available: false, reason: peer.missing } : { available: true, name: peer.name, version: peer.version },
        figures,
        ratios,
        wake: { ...wake, durability: 'NORMAL' as Durability },
        commands,
        send,
        storage: 'missing' in storage ? { available: false, reason: storage.missing } : { available: true, ...storage },
        targets,
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      log('');
      log(`steps/s (median of ${rounds}); durability: NORMAL = ${DURABILITY.NORMAL}; FULL = ${DURABILITY.FULL}`);
      for (const f of figures) log(`  ${label(f).padEnd(58)} ${f.durability.padEnd(6)} ${fmt(f.stepsPerSec).padStart(9)} steps/s  ${f.usPerStep.toFixed(0).padStart(7)} us/step`);
      log(`ratios (the median of ${rounds} round(s)' ratios, each between figures of the same round):`);
      for (const r of ratios) log(`  ${r.name}, ${r.inFlight} in flight, ${r.durability}: ${r.ratio.toFixed(2)}x  (rounds: ${r.rounds.map((x) => `${x.toFixed(2)}x`).join(', ')})`);
      log(`wake ${wake.actors} waiting actors (NORMAL): host start ${wake.startMs.toFixed(0)} ms, all ${wake.woken} stepped in ${wake.wakeMs.toFixed(0)} ms, peak RSS ${(wake.peakRss / 1024 / 1024).toFixed(0)} MiB`);
      log(`commands (median of ${sizes.repeat} fresh processes):`);
      for (const c of commands) log(`  ${c.command.padEnd(58)} ${c.medianMs.toFixed(0).padStart(6)} ms  (min ${c.minMs.toFixed(0)}, max ${c.maxMs.toFixed(0)})`);
      log(`spine send -> committed by a live host in another process (NORMAL): p50 ${send.p50Ms.toFixed(1)} ms, p90 ${send.p90Ms.toFixed(1)} ms, max ${send.maxMs.toFixed(1)} ms (${send.sends} sends)`);
      if ('missing' in storage) log(`storage: ${storage.missing}`);
      else log(`storage of the research pipeline: ${fmt(storage.bytesPerStep)} bytes per step (${storage.steps} steps of ${storage.runs} runs; SQLite dbstat payload of every table and index): ${Object.entries(storage.byTable).map(([t, b]) => `${t} ${b}`).join(', ')}`);
      log('targets of issue 10 (this run):');
      for (const t of targets) log(`  ${t.met ? 'met   ' : 'missed'} ${t.name}: ${t.value} (target ${t.target})`);
    }
    return EXIT.done;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchOnPostgres(options: Omit<PostgresBenchOptions, 'log'> & { json: boolean }): Promise<number> {
  const log = (line: string) => !options.json && process.stderr.write(`${line}\n`);
  const { benchPostgres, printPostgresBench } = await import('../benchPostgres.js');
  const report = await benchPostgres({ ...options, log });
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else printPostgresBench(report, log);
  return EXIT.done;
}

/** One target of issue 10 against what this run measured. */
export interface TargetCheck {
  name: string;
  value: string;
  target: string;
  met: boolean;
}

function issueTargets(
  ratios: readonly BenchRatio[],
  get: (id: string) => BenchFigure | undefined,
  many: number,
  commands: Awaited<ReturnType<typeof measureCommands>>,
  send: Awaited<ReturnType<typeof measureSend>>,
  storage: Awaited<ReturnType<typeof measureStorage>>,
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const ratioOf = (name: RegExp, durability: Durability) => ratios.find((r) => name.test(r.name) && r.durability === durability && r.inFlight === 1)?.ratio;
  const vsPeer = (durability: Durability, atLeast: number) => {
    const ratio = ratioOf(/LangGraph/, durability);
    if (ratio !== undefined) out.push({ name: `activity workflow, 1 in flight, ${durability}: Spine / LangGraph.js`, value: `${ratio.toFixed(2)}x`, target: `>= ${atLeast}x`, met: ratio >= atLeast });
  };
  vsPeer('NORMAL', 4);
  vsPeer('FULL', 2);
  const full = get(`spine.activity.${many}.FULL`)!;
  out.push({ name: `activity workflow, ${many} in flight, FULL`, value: `${fmt(full.stepsPerSec)} steps/s`, target: '>= 5,000 steps/s', met: full.stepsPerSec >= 5000 });
  const ratio = ratioOf(/bare transaction/, 'NORMAL')!;
  out.push({ name: 'durable activity step / bare transaction, NORMAL (time per step)', value: `${ratio.toFixed(2)}x`, target: '<= 3x', met: ratio <= 3 });
  for (const c of commands) if (c.targetMs) out.push({ name: c.command, value: `${c.medianMs.toFixed(0)} ms`, target: `< ${c.targetMs} ms`, met: c.medianMs < c.targetMs });
  out.push({ name: 'spine send -> committed by a live host, p50', value: `${send.p50Ms.toFixed(1)} ms`, target: `< ${send.targetP50Ms} ms`, met: send.p50Ms < send.targetP50Ms });
  if (!('missing' in storage)) out.push({ name: 'research pipeline storage per step', value: `${fmt(storage.bytesPerStep)} bytes`, target: `<= ${fmt(storage.targetBytesPerStep)} bytes`, met: storage.bytesPerStep <= storage.targetBytesPerStep });
  return out;
}

function label(f: BenchFigure): string {
  const who = f.system === 'spine' ? 'Spine' : f.system === 'langgraph' ? 'LangGraph.js + SqliteSaver' : 'floor';
  const what = { activity: 'activity workflow', send: 'send workflow', 'bare-transaction': 'bare SQLite txn, a step\'s writes into Spine\'s tables', transition: 'xstate transition() in memory' }[f.workflow];
  return `${who}: ${what}${f.system === 'floor' ? '' : `, ${f.inFlight} in flight`}`;
}

/** Spine on a fresh database: `runs` runs of the activity or send workflow, `inFlight` at a time; steps per second. */
async function spineWorkflow(kind: BenchWorkflow, path: string, synchronous: 'NORMAL' | 'FULL', runs: number, inFlight: number, warmUp: boolean): Promise<number> {
  const host = await openSpine(kind, path, synchronous, warmUp);
  try {
    return (runs * STEPS) / (await host.measure(runs, inFlight));
  } finally {
    await host.close();
  }
}

/** Something measured in slices: each call of `measure(n)` does `n` more units of work and returns its seconds. */
interface Measurable<Args extends unknown[]> {
  measure(...args: Args): Promise<number>;
  /**
   * Copies its WAL into its database file now, untimed: what its last slice wrote is not left to a
   * checkpoint that would run during the other system's slice (each of the floor's slices writes
   * 2,000 steps).
   */
  settle(): void;
  /** Checks what was done, then closes everything. */
  close(): Promise<void>;
}

/** A Spine host on a fresh database, warmed up, that runs the workflow `kind` when measured (runs, in flight). */
async function openSpine(kind: BenchWorkflow, path: string, synchronous: 'NORMAL' | 'FULL', warmUp: boolean): Promise<Measurable<[runs: number, inFlight: number]>> {
  const store = SqliteStore.openSync(path, { synchronous });
  const runtime = createRuntime({ store, machines: [activityChain(STEPS), benchMachine(STEPS)] });
  const runWorkflow = workflowRunner(runtime, STEPS);
  await runtime.start();
  let n = 0;
  const one = () => runWorkflow(kind, `${kind}-${n++}`);
  const closing = async () => {
    await runtime.stop();
    await store.close();
  };
  try {
    if (warmUp) for (let i = 0; i < WARM_UP_RUNS; i++) await one();
  } catch (error) {
    await closing();
    throw error;
  }
  return {
    measure: (runs, inFlight) => inParallel(runs, inFlight, one),
    settle: () => void store.db.pragma('wal_checkpoint(TRUNCATE)'),
    async close() {
      try {
        for (let i = 0; i < n; i++) {
          const root = await store.getActor(`${kind}-${i}`);
          if (root?.status !== 'done' || root.seq !== STEPS + 1) throw new Error(`bench: run ${kind}-${i} is ${root?.status} at seq ${root?.seq}, expected done at ${STEPS + 1}`);
        }
      } finally {
        await closing();
      }
    },
  };
}

/** Slices of the lone activity workflow and of the floor, alternated: see the call in `bench`. */
const LONE_SLICES = 10;
/** Untimed runs before each slice (see `floorAgainstSpine`). */
const SLICE_WARM_UP_RUNS = 2;

/**
 * The floor and Spine's lone activity runs measured in alternating slices (floor, Spine, floor,
 * ...), each rate over its slices' total time, so that both see the same moments of a machine
 * whose speed drifts (this one's by a third from one minute to the next). Each slice starts with
 * both WALs checkpointed (`settle`), as each system's measurement did when they ran one after the
 * other. Steps/s of each.
 */
async function floorAgainstSpine(floor: Measurable<[steps: number]>, spine: Measurable<[runs: number, inFlight: number]>, floorSteps: number, spineRuns: number): Promise<{ floor: number; spine: number }> {
  const slices = Math.min(LONE_SLICES, spineRuns);
  let floorSeconds = 0;
  let spineSeconds = 0;
  let floorDone = 0;
  let spineDone = 0;
  for (let slice = 0; slice < slices; slice++) {
    const floorPart = Math.round((floorSteps * (slice + 1)) / slices) - floorDone;
    const spinePart = Math.round((spineRuns * (slice + 1)) / slices) - spineDone;
    // Each slice after an untimed run or two of its own: a system's first steps after the other's
    // slice run with cold caches (measured: ten slices made Spine's step 10-25% slower than one).
    await floor.measure(SLICE_WARM_UP_RUNS * STEPS);
    floorSeconds += await floor.measure(floorPart);
    floor.settle();
    await spine.measure(SLICE_WARM_UP_RUNS, 1);
    spineSeconds += await spine.measure(spinePart, 1);
    spine.settle();
    floorDone += floorPart;
    spineDone += spinePart;
  }
  return { floor: floorDone / floorSeconds, spine: (spineDone * STEPS) / spineSeconds };
}

/** xstate's pure `transition()` on the bench machine, nothing stored: steps per second. */
function inMemory(steps: number): number {
  const registry = new MachineRegistry();
  registry.register(benchMachine());
  const { machine } = registry.machine('ring'); // built exactly as the durable host builds it
  let snapshot = createActor(machine).getSnapshot() as AnyMachineSnapshot;
  const event = { type: 'tick', n: 1 };
  for (let i = 0; i < 2000; i++) [snapshot] = transition(machine, snapshot, event);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) [snapshot] = transition(machine, snapshot, event);
  return steps / ((performance.now() - t0) / 1000);
}

/**
 * The writes of the activity workflow in bare better-sqlite3, into Spine's own tables and indexes
 * (the file is made by SqliteStore, so migrated and laid out as the runtime's), with the rows'
 * contents as Spine writes them for that workflow: the chain machine's snapshots and history bodies
 * (encoded by the runtime's own encoders, once, before measuring), each job's output and attempt
 * journal, Spine's job keys, host id and machine version. Each step is one transaction that
 * finishes the job, advances the actor (the last one to `done`), appends its history row and
 * creates the next job, claimed; each run starts with its actor row, the history row of its init
 * step and its first job. Nothing is read, decided or encoded while measuring, and no write is
 * conditioned on anything but the row it changes (no fence, no mailbox check). The WAL is
 * checkpointed as Spine's store does it: at NORMAL on a thread of its own (`Checkpointer`), never
 * inside a commit (SQLite's default, a checkpoint in the commit that crosses 1,000 frames, cost
 * the floor about 60 µs a step on this machine, which flattered every ratio against it); at FULL
 * inside commits, as Spine.
 */
async function openFloor(path: string, synchronous: 'NORMAL' | 'FULL'): Promise<Measurable<[steps: number]>> {
  await SqliteStore.openSync(path, { synchronous }).close();
  const registry = new MachineRegistry();
  registry.register(activityChain(STEPS));
  const { machine, version } = registry.machine('chain');
  const rows = chainRows(machine);
  const host = 'host-f100f100';
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  const checkpointer = synchronous === 'NORMAL' ? new Checkpointer(path, synchronous, () => db.pragma('wal_autocheckpoint = 1000')) : undefined;
  if (checkpointer) db.pragma(`wal_autocheckpoint = ${BACKSTOP_FRAMES}`);
  const startRun = db.prepare("INSERT INTO actors (id, run_id, machine, version, seq, status, snapshot, state_value, owner, created_at, updated_at) VALUES (?, ?, 'chain', ?, 1, 'active', ?, ?, ?, ?, ?)");
  const newJob = db.prepare("INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, attempts, run_at, owner, created_at, started_at) VALUES (?, ?, ?, ?, 'work', 'null', 'running', 1, ?, ?, ?, ?)");
  const finishJob = db.prepare("UPDATE jobs SET status = 'done', output = '{\"ok\":true}', journal = ?, finished_at = ? WHERE key = ? AND status = 'running' AND owner = ? AND attempts = 1");
  const advance = db.prepare('UPDATE actors SET seq = ?, snapshot = ?, state_value = ?, updated_at = ? WHERE id = ? AND seq = ?');
  const finish = db.prepare("UPDATE actors SET seq = ?, status = 'done', snapshot = ?, state_value = ?, output = 'null', updated_at = ? WHERE id = ? AND seq = ?");
  const history = db.prepare('INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, emitted, started_at, duration_us, checkpoint, body, job_key) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, 80, ?, ?, NULL)');
  const job = (run: string, seq: number) => `${run}:${seq}:${seq === 1 ? 0 : 1}`;
  const start = db.transaction((run: string, now: number) => {
    const init = rows[0]!;
    startRun.run(run, run, version, init.snapshot, init.stateValue, host, now, now);
    history.run(run, run, 1, init.eventType, init.stateValue, 'active', version, now, 1, init.body);
    newJob.run(job(run, 1), run, run, 'w0', now, host, now, now);
  });
  const step = db.transaction((run: string, seq: number, now: number) => {
    const row = rows[seq - 1]!;
    const journal = `[{"attempt":1,"host":"${host}","startedAt":${now},"outcome":"ok","durationMs":0.01}]`;
    if (finishJob.run(journal, now, job(run, seq - 1), host).changes !== 1) throw new Error(`bench: the floor's job ${job(run, seq - 1)} was not running`);
    const last = seq === STEPS + 1;
    if ((last ? finish : advance).run(seq, row.snapshot, row.stateValue, now, run, seq - 1).changes !== 1) throw new Error(`bench: the floor's actor ${run} was not at seq ${seq - 1}`);
    history.run(run, run, seq, row.eventType, row.stateValue, last ? 'done' : 'active', version, now, 0, row.body);
    if (!last) newJob.run(job(run, seq), run, run, `w${seq - 1}`, now, host, now, now);
  });
  const committed = () => checkpointer?.written();
  let runs = 0;
  const oneRun = () => {
    const run = `floor-${runs++}`;
    start.immediate(run, Date.now());
    committed();
    for (let seq = 2; seq <= STEPS + 1; seq++) {
      step.immediate(run, seq, Date.now());
      committed();
    }
  };
  for (let i = 0; i < 10; i++) oneRun();
  return {
    // Whole runs of STEPS steps: a call asked for fewer gets one run.
    measure: async (steps) => {
      const timedRuns = Math.max(1, Math.round(steps / STEPS));
      const t0 = performance.now();
      for (let i = 0; i < timedRuns; i++) oneRun();
      return ((performance.now() - t0) / 1000) * (steps / (timedRuns * STEPS));
    },
    settle: () => void db.pragma('wal_checkpoint(TRUNCATE)'),
    async close() {
      await checkpointer?.close();
      db.close();
    },
  };
}

/** One step of the chain machine as Spine stores it: its snapshot, state value, event type and history body. */
interface ChainRow {
  snapshot: string;
  stateValue: string;
  eventType: string;
  body: Uint8Array;
}

/** The rows of a whole run of the activity chain, its init step first, encoded as the runtime encodes them. */
function chainRows(machine: AnyStateMachine): ChainRow[] {
  const rows: ChainRow[] = [];
  let snapshot = createActor(machine).getSnapshot() as AnyMachineSnapshot;
  let before: string | null = null;
  for (let seq = 1; seq <= STEPS + 1; seq++) {
    const child = `w${seq - 2}`;
    const event = seq === 1 ? { type: 'xstate.init', input: null } : { type: `xstate.done.actor.${child}`, output: { ok: true }, actorId: child };
    if (seq > 1) [snapshot] = transition(machine, snapshot, event);
    const text = encodeSnapshot(machine.getPersistedSnapshot(snapshot));
    rows.push({ snapshot: text, stateValue: JSON.stringify(snapshot.value), eventType: event.type, body: encodeHistoryStep({ seq, event: JSON.stringify(event), snapshot: text }, before).body });
    before = text;
  }
  return rows;
}

/** Waking `count` waiting actors at once, in a fresh host process: its start, the wake-up, its peak RSS. */
async function wakeWaiting(path: string, count: number) {
  const store = SqliteStore.openSync(path);
  const runtime = createRuntime({ store, machines: [benchMachine()], runActivities: false });
  await runtime.start();
  await inParallel(count, 50, async (i) => void (await runtime.startRun('ring', { runId: `waiting-${i}` })));
  await runtime.idle();
  await runtime.stop();
  await store.close();
  const script = fileURLToPath(new URL('../benchHost.js', import.meta.url));
  const out = execFileSync(process.execPath, [...appliedV8Flags(), script, path], { encoding: 'utf8' });
  const figure = JSON.parse(out) as { actors: number; woken: number; startMs: number; wakeMs: number; peakRss: number };
  // `idle()` resolves when the host has nothing runnable left: a figure for fewer than every actor is no figure.
  if (figure.actors !== count || figure.woken !== count) throw new Error(`bench: the wake-up stepped ${figure.woken} of ${figure.actors} actors (${count} were started)`);
  return figure;
}


