import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PostgresStore } from '@spine/store-postgres';
import { CliError } from './CliError.js';
import { packageVersion } from './benchPeer.js';
import type { WorkerReport } from './benchPostgresWorker.js';
import { fmt, median, pairedRatio, v8Settings } from './benchFigures.js';
import { appliedV8Flags } from './v8Flags.js';

/** Options of `benchPostgres`. */
export interface PostgresBenchOptions {
  /** The server (`--db`), else `SPINE_TEST_PG_URL`, else a private cluster started for the run. */
  url?: string;
  /** Few runs, 5 in flight standing for 100, no DBOS warm-up beyond one workflow (for tests). */
  quick: boolean;
  rounds: number;
  /** Runs per worker with many in flight (default 3x the runs in flight). */
  runs?: number;
  /** Leave DBOS Transact out. */
  noPeer: boolean;
  log(line: string): void;
}

/** One figure of the PostgreSQL bench: steps per second, the median of its rounds. */
export interface PostgresBenchFigure {
  id: string;
  /** `floor`: each step's writes as one bare statement, no runtime (what nothing on this server can beat). */
  system: 'spine' | 'dbos' | 'floor';
  /** `activity`: every step an activity's result; `send`: every step an event sent with `runtime.send` (Spine, one worker). */
  workflow: 'activity' | 'send';
  /** Worker processes sharing the database (DBOS and the floor: one process). */
  workers: number;
  /** Runs in flight in each worker process. */
  inFlight: number;
  durability: 'postgres';
  stepsPerSec: number;
  usPerStep: number;
  rounds: number[];
  /** CPU time the worker processes spent per step (user + system; the server's is not counted), median of the rounds. */
  cpuUsPerStep: number;
  /** Statements one Spine worker sent per step, counted (a group commit's are pipelined: two round trips per batch). */
  queriesPerStep?: number;
  /**
   * How busy the machine's cores were during the measurement (every process: workers, the server,
   * the rest; 1 = all cores all the time), median of the rounds; from /proc/stat, so Linux only.
   * Near 1, more workers cannot add throughput on this machine.
   */
  machineBusy?: number;
}

/** What `spine bench --store postgres --json` prints. */
export interface PostgresBenchReport {
  store: 'postgres';
  quick: boolean;
  rounds: number;
  steps: number;
  /** `v8Flags`: the V8 settings every worker ran with, Spine's and its peer's alike (see v8Flags.ts). */
  machine: { node: string; cpus: number; loadAverage: number; v8Flags: string[] };
  server: { source: string; version: string; settings: Record<string, string> };
  durability: { postgres: string };
  peer: { available: true; name: string; version: string } | { available: false; reason: string };
  figures: PostgresBenchFigure[];
  /** Each the median of its rounds' ratios (`rounds`), each between figures of the same round. */
  ratios: { name: string; workers: number; inFlight: number; ratio: number; rounds: number[] }[];
}

const STEPS = 20;
const WORKERS = [1, 2, 4];
const DBOS = '@dbos-inc/dbos-sdk';
/** The durability settings a figure depends on, read from the server with SHOW. */
const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method'];

/**
 * `spine bench --store postgres`: in one run, on one PostgreSQL server, the 20-step activity
 * workflow (every step an activity, persisted before the next) with 1, 2 and 4 Spine worker
 * processes sharing one database, each with 1 and 100 runs in flight; and DBOS Transact running
 * the same workflow (20 `DBOS.runStep` steps) with 1 and 100 in flight, when installed; the
 * floor: each step's writes as one bare statement into Spine's tables, committed alone; and the
 * 20-step send workflow (each step an event sent with `runtime.send`) on one Spine worker.
 */
export async function benchPostgres(options: PostgresBenchOptions): Promise<PostgresBenchReport> {
  const { log, quick, rounds } = options;
  const many = quick ? 5 : 100;
  const manyRuns = options.runs ?? (quick ? many : many * 3);
  if (manyRuns < many) throw new CliError(`--runs must be at least ${many} (the runs in flight per worker)`);
  // One at a time, each system runs 100 measured workflows (2,000 steps) after 200 untimed ones: a
  // worker is measured warm, as one that runs for days is, not while its code is still being
  // compiled. With 10 untimed runs Spine's worker spent 1,520 µs of CPU a step, with 100 about 600
  // (the rest was the JIT's threads compiling); DBOS gained more from it than Spine. With 50, the
  // JIT's threads still took a core's share from the server on this 2-core machine: Spine's worker
  // spent 591–778 µs of CPU a step (3 runs), against 512–584 after 200; DBOS 941–979 and 868–892.
  const runsOf = (inFlight: number) => (inFlight === 1 ? (quick ? 2 : Math.max(2, Math.round(manyRuns / 3))) : manyRuns);
  const warmup = quick ? 1 : 200;
  const server = await postgresServer(options.url, log);
  try {
    const { version, settings } = await serverSettings(server.url);
    const durability = `PostgreSQL ${version}: fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, full_page_writes=${settings.full_page_writes}, wal_sync_method=${settings.wal_sync_method}${settings.fsync === 'on' && settings.synchronous_commit === 'on' ? ': every commit is flushed to disk before it returns' : ': NOT crash-safe against power loss'}`;
    const peerVersion = options.noPeer ? undefined : await packageVersion(DBOS).catch(() => undefined);
    const peer: PostgresBenchReport['peer'] = options.noPeer
      ? { available: false, reason: 'DBOS Transact left out (--no-peer)' }
      : peerVersion && peerVersion !== '?'
        ? { available: true, name: 'DBOS Transact', version: peerVersion }
        : { available: false, reason: `DBOS Transact peer not installed (${DBOS}; in the Spine repo run npm install)` };
    log(`spine bench --store postgres: ${STEPS}-step activity workflow, ${rounds} round(s), medians; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; ${v8Settings(appliedV8Flags())}${quick ? ` (--quick: few runs, ${many} in flight for 100)` : ''}`);
    log(`  server: ${server.source}; ${durability}`);
    if (!peer.available) log(`  peer: ${peer.reason}`);

    type Measures = 'stepsPerSec' | 'usPerStep' | 'rounds' | 'cpuUsPerStep' | 'queriesPerStep' | 'machineBusy';
    const samples = new Map<string, { figure: Omit<PostgresBenchFigure, Measures>; rounds: number[]; cpu: number[]; queries: number[]; busy: number[] }>();
    const record = (figure: Omit<PostgresBenchFigure, 'id' | 'workflow' | 'durability' | Measures>, measured: Measured, workflow: PostgresBenchFigure['workflow'] = 'activity') => {
      const id = `${figure.system}.${workflow}.${figure.workers}w.${figure.inFlight}`;
      const entry = samples.get(id) ?? { figure: { id, workflow, durability: 'postgres' as const, ...figure }, rounds: [], cpu: [], queries: [], busy: [] };
      entry.rounds.push(measured.stepsPerSec);
      entry.cpu.push(measured.cpuUsPerStep);
      if (measured.queriesPerStep !== undefined) entry.queries.push(measured.queriesPerStep);
      if (measured.machineBusy !== undefined) entry.busy.push(measured.machineBusy);
      samples.set(id, entry);
    };
    for (let round = 1; round <= rounds; round++) {
      log(`  round ${round}/${rounds}`);
      for (const inFlight of [1, many]) {
        for (const workers of WORKERS) {
          const rate = await measure('spine', server.url, workers, runsOf(inFlight), inFlight, warmup);
          log(`    Spine, ${workers} worker(s) x ${inFlight} in flight: ${fmt(rate.stepsPerSec)} steps/s`);
          record({ system: 'spine', workers, inFlight }, rate);
        }
        if (peer.available) {
          const rate = await measure('dbos', server.url, 1, runsOf(inFlight), inFlight, warmup);
          log(`    DBOS Transact, ${inFlight} in flight: ${fmt(rate.stepsPerSec)} steps/s`);
          record({ system: 'dbos', workers: 1, inFlight }, rate);
        }
        const bare = await measure('floor', server.url, 1, runsOf(inFlight), inFlight, warmup);
        log(`    floor (one bare statement per step), ${inFlight} in flight: ${fmt(bare.stepsPerSec)} steps/s`);
        record({ system: 'floor', workers: 1, inFlight }, bare);
        const sends = await measure('spine-send', server.url, 1, runsOf(inFlight), inFlight, warmup);
        log(`    Spine send workflow, 1 worker x ${inFlight} in flight: ${fmt(sends.stepsPerSec)} steps/s`);
        record({ system: 'spine', workers: 1, inFlight }, sends, 'send');
      }
    }
    const figures: PostgresBenchFigure[] = [...samples.values()].map(({ figure, rounds: r, cpu, queries, busy }) => {
      const stepsPerSec = median(r);
      return {
        ...figure,
        stepsPerSec,
        usPerStep: 1e6 / stepsPerSec,
        rounds: r,
        cpuUsPerStep: median(cpu),
        ...(queries.length ? { queriesPerStep: median(queries) } : {}),
        ...(busy.length ? { machineBusy: median(busy) } : {}),
      };
    });
    const get = (id: string) => figures.find((f) => f.id === id);
    const ratios: PostgresBenchReport['ratios'] = [];
    for (const inFlight of [1, many]) {
      const one = get(`spine.activity.1w.${inFlight}`)!;
      const dbos = get(`dbos.activity.1w.${inFlight}`);
      const bare = get(`floor.activity.1w.${inFlight}`)!;
      // Time per step is the inverse of steps/s: the floor's rate over the system's.
      ratios.push({ name: 'Spine step / floor step (time per step)', workers: 1, inFlight, ...pairedRatio(bare, one) });
      if (dbos) ratios.push({ name: 'DBOS Transact step / floor step (time per step)', workers: 1, inFlight, ...pairedRatio(bare, dbos) });
      for (const workers of WORKERS) {
        const spine = get(`spine.activity.${workers}w.${inFlight}`)!;
        if (dbos) ratios.push({ name: 'Spine / DBOS Transact (steps/s)', workers, inFlight, ...pairedRatio(spine, dbos) });
        if (workers > 1) ratios.push({ name: `Spine ${workers} workers / 1 worker (scaling)`, workers, inFlight, ...pairedRatio(spine, one) });
      }
    }
    return {
      store: 'postgres',
      quick,
      rounds,
      steps: STEPS,
      machine: { node: process.version, cpus: cpus().length, loadAverage: loadavg()[0]!, v8Flags: appliedV8Flags() },
      server: { source: server.source, version, settings },
      durability: { postgres: durability },
      peer,
      figures,
      ratios,
    };
  } finally {
    await server.stop();
  }
}

/** Prints a report as `spine bench --store postgres` does without `--json`. */
export function printPostgresBench(report: PostgresBenchReport, log: (line: string) => void): void {
  log('');
  log(`steps/s (median of ${report.rounds}); durability: ${report.durability.postgres}`);
  for (const f of report.figures) {
    const who =
      f.system === 'spine'
        ? `Spine${f.workflow === 'send' ? ' send workflow' : ''}, ${f.workers} worker process${f.workers > 1 ? 'es' : ''}`
        : f.system === 'floor'
          ? 'floor: one bare statement per step'
          : `${report.peer.available ? `DBOS Transact ${report.peer.version}` : 'DBOS'}, 1 process`;
    const busy = f.machineBusy === undefined ? '' : `  cores ${(100 * f.machineBusy).toFixed(0)}% busy`;
    const profile = `${busy}${f.queriesPerStep === undefined ? '' : `  ${f.queriesPerStep.toFixed(1)} statements/step`}`;
    log(`  ${`${who}, ${f.inFlight} in flight${f.workers > 1 ? ' each' : ''}`.padEnd(48)} ${fmt(f.stepsPerSec).padStart(7)} steps/s ${f.usPerStep.toFixed(0).padStart(6)} us/step  ${f.cpuUsPerStep.toFixed(0).padStart(5)} us CPU/step${profile}`);
  }
  log('ratios:');
  for (const r of report.ratios) log(`  ${r.name}, ${r.workers} worker(s), ${r.inFlight} in flight: ${r.ratio.toFixed(2)}x${r.rounds.length > 1 ? ` (rounds ${r.rounds.map((x) => x.toFixed(2)).join(', ')})` : ''}`);
}

/**
 * The server the bench runs on: the URL given, else `SPINE_TEST_PG_URL`, else a private cluster
 * (scripts/postgres-cluster.mjs, in a Spine checkout) with PostgreSQL's durability left on.
 */
async function postgresServer(url: string | undefined, log: (line: string) => void): Promise<{ url: string; source: string; stop(): Promise<void> }> {
  const none = async () => {};
  if (url) return { url, source: `--db ${redact(url)}`, stop: none };
  if (process.env.SPINE_TEST_PG_URL) return { url: process.env.SPINE_TEST_PG_URL, source: `SPINE_TEST_PG_URL ${redact(process.env.SPINE_TEST_PG_URL)}`, stop: none };
  const script = new URL('../../../scripts/postgres-cluster.mjs', import.meta.url).href; // from src/ and dist/ alike
  let cluster: { url: string; stop(): Promise<void> };
  try {
    const { startPostgres } = (await import(script)) as { startPostgres(options: { durable: boolean }): Promise<{ url: string; stop(): Promise<void> }> };
    log('  starting a private PostgreSQL cluster (fsync on) for the bench');
    cluster = await startPostgres({ durable: true });
  } catch (error) {
    throw new CliError(`no PostgreSQL server for the bench: pass --db postgres://user:pass@host:port/db or set SPINE_TEST_PG_URL (${(error as Error).message.split('\n')[0]})`);
  }
  return { url: cluster.url, source: `a private cluster started for this run (${redact(cluster.url)})`, stop: () => cluster.stop() };
}

async function serverSettings(url: string): Promise<{ version: string; settings: Record<string, string> }> {
  const client = new pg.Client({ connectionString: withoutSchema(url) });
  await client.connect();
  try {
    const settings: Record<string, string> = {};
    for (const name of SETTINGS) settings[name] = String((await client.query(`SHOW ${name}`)).rows[0]?.[name]);
    const version = String((await client.query('SHOW server_version')).rows[0]?.server_version);
    return { version, settings };
  } finally {
    await client.end();
  }
}

/** What a bench worker process runs (`benchPostgresWorker.ts`). */
type WorkerMode = 'spine' | 'spine-send' | 'dbos' | 'floor';

interface Measured {
  stepsPerSec: number;
  cpuUsPerStep: number;
  queriesPerStep: number | undefined;
  machineBusy: number | undefined;
}

/** The machine's CPU time so far, busy and in all, from /proc/stat's first line (Linux); undefined elsewhere. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/**
 * One measurement on a fresh schema (Spine) or database (DBOS), removed afterwards: steps per
 * second, the workers' CPU per step and, for one Spine worker, the statements it sent per step.
 */
async function measure(system: WorkerMode, url: string, workers: number, runs: number, inFlight: number, warmup: number): Promise<Measured> {
  const counted: Record<string, string> = system.startsWith('spine') && workers === 1 ? { SPINE_BENCH_COUNT_QUERIES: '1' } : {};
  const { steps, seconds, cpuUsPerStep, queriesPerStep, machineBusy } = await run(system, url, workers, runs, inFlight, warmup, counted);
  return { stepsPerSec: steps / seconds, cpuUsPerStep, queriesPerStep, machineBusy };
}

/**
 * Starts `workers` processes, lets each get ready (connect, start, `warmup` workflows), then
 * starts them together: steps of all of them over the wall time from the start to the last one done.
 */
async function run(system: WorkerMode, url: string, workers: number, runs: number, inFlight: number, warmup: number, env: Record<string, string> = {}) {
  const tag = `spine_bench_${randomBytes(4).toString('hex')}`;
  const target = new URL(withoutSchema(url));
  if (system !== 'dbos') {
    target.searchParams.set('schema', tag);
    await (await PostgresStore.open(target.toString())).close(); // migrated once, before the workers open it
  } else target.pathname = `/${tag}`; // DBOS creates its system database
  const script = fileURLToPath(new URL('./benchPostgresWorker.js', import.meta.url));
  const children = Array.from({ length: workers }, (_, i) => worker(script, [system, target.toString(), String(runs), String(inFlight), String(STEPS), `w${i}`, String(warmup)], env));
  try {
    await Promise.all(children.map((c) => c.ready));
    const cpu0 = machineCpu();
    const t0 = performance.now();
    for (const c of children) c.go();
    const reports = await Promise.all(children.map((c) => c.done));
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = machineCpu();
    const machineBusy = cpu0 && cpu1 && cpu1.total > cpu0.total ? (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total) : undefined;
    const steps = reports.reduce((sum, r) => sum + r.steps, 0);
    const counted = reports.filter((r) => r.queriesPerStep !== undefined);
    const cpuUsPerStep = reports.reduce((sum, r) => sum + r.cpuUsPerStep * r.steps, 0) / steps;
    return { steps, seconds, cpuUsPerStep, machineBusy, queriesPerStep: counted.length ? counted.reduce((s, r) => s + r.queriesPerStep!, 0) / counted.length : undefined };
  } finally {
    for (const c of children) c.kill();
    await drop(url, system, tag);
  }
}

function worker(script: string, args: string[], env: Record<string, string>) {
  // Every worker (Spine, DBOS, the floor) with the V8 settings of this `spine` process.
  const child = spawn(process.execPath, [...appliedV8Flags(), script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  let readied: () => void;
  const ready = new Promise<void>((resolve) => (readied = resolve));
  const done = new Promise<WorkerReport>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.startsWith('ready\n')) readied();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as WorkerReport);
      else reject(new Error(`bench worker ${args[0]} ${args[5]} exited ${code}: ${stderr.trim().split('\n').slice(-5).join('\n') || stdout}`));
    });
  });
  // A worker that dies before it is ready fails the wait for readiness too.
  return { ready: Promise.race([ready, done.then(() => undefined)]), done, go: () => child.stdin.write('go\n'), kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

async function drop(url: string, system: WorkerMode, tag: string): Promise<void> {
  const client = new pg.Client({ connectionString: withoutSchema(url) });
  await client.connect();
  try {
    // `tag` is made here of letters, digits and underscores only.
    if (system !== 'dbos') await client.query(`DROP SCHEMA IF EXISTS ${tag} CASCADE`);
    else await client.query(`DROP DATABASE IF EXISTS ${tag} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

function withoutSchema(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('schema');
  return parsed.toString();
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}


