import { createInterface } from 'node:readline';
import pg from 'pg';
import { createRuntime, MachineRegistry } from '@spine/runtime';
import { createActor } from 'xstate';
import { PostgresStore } from '@spine/store-postgres';
import { activityChain, benchMachine, workflowRunner, type BenchWorkflow } from './benchMachine.js';
import { inParallel } from './benchPeer.js';

// Child process of `spine bench --store postgres`: one worker (a Spine host running the activity
// workflow or, `spine-send`, the send workflow; DBOS Transact; or the floor: the writes of each
// step as one bare statement) on a PostgreSQL database. It gets ready
// (connects, starts, runs `warmup` workflows one at a time, so every system is measured warm, as a
// long-running worker is), prints `ready`, waits for `go` on stdin, runs its share of the 20-step
// activity workflow with `inFlight` runs at a time, and prints what it did as one JSON line.
//
//   node benchPostgresWorker.js spine|spine-send|dbos|floor <url> <runs> <inFlight> <steps> <id prefix> [warmup]

/** What a worker prints when its runs are done. */
export interface WorkerReport {
  runs: number;
  steps: number;
  seconds: number;
  /** CPU time this process spent per step (user + system), in microseconds. */
  cpuUsPerStep: number;
  /** Statements sent to the server per step (Spine only; `SPINE_BENCH_COUNT_QUERIES=1`). */
  queriesPerStep?: number;
}

const [mode, url, runsArg, inFlightArg, stepsArg, prefix, warmupArg = '1'] = process.argv.slice(2);
const runs = Number(runsArg);
const inFlight = Number(inFlightArg);
const steps = Number(stepsArg);
const warmup = Number(warmupArg);
if (!url || !prefix || !(runs > 0) || !(inFlight > 0) || !(steps > 0) || !(warmup >= 1) || !['spine', 'spine-send', 'dbos', 'floor'].includes(mode!)) {
  process.stderr.write('usage: benchPostgresWorker spine|spine-send|dbos|floor <url> <runs> <inFlight> <steps> <id prefix> [warmup runs, default 1]\n');
  process.exit(2);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const go = async () => {
  process.stdout.write('ready\n');
  await lines.next();
};

/**
 * A worker's measurement: `warmup` untimed runs, `ready`, then on `go` the runs, `inFlight` at a
 * time; the wall time and this process's CPU time per step. `started` runs at `go`, before the clock.
 */
async function timed(one: () => Promise<void>, started: () => void = () => {}): Promise<Omit<WorkerReport, 'queriesPerStep'>> {
  for (let i = 0; i < warmup; i++) await one();
  await go();
  started();
  const cpu = process.cpuUsage();
  const seconds = await inParallel(runs, inFlight, one);
  const { user, system } = process.cpuUsage(cpu);
  return { runs, steps: runs * steps, seconds, cpuUsPerStep: (user + system) / (runs * steps) };
}

const report = mode === 'spine' || mode === 'spine-send' ? await spine(url, prefix, mode === 'spine' ? 'activity' : 'send') : mode === 'floor' ? await floor(url, prefix) : await dbos(url, prefix);
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);

/**
 * A Spine host over PostgresStore: `runs` runs of the activity workflow (every step an activity's
 * result) or of the send workflow (every step an event sent with `runtime.send`, applied before the
 * next is sent: how agents hand off to each other), told committed by the host's step notices.
 */
async function spine(url: string, prefix: string, workflow: BenchWorkflow): Promise<WorkerReport> {
  const queries = countQueries();
  const store = await PostgresStore.open(url);
  const runtime = createRuntime({ store, machines: [activityChain(steps), benchMachine(steps)] });
  const runWorkflow = workflowRunner(runtime, steps);
  await runtime.start();
  let n = 0;
  const one = () => runWorkflow(workflow, `${prefix}-${n++}`);
  let before = 0;
  const measured = await timed(one, () => (before = queries.count));
  const sent = queries.count - before;
  if (process.env.SPINE_BENCH_COUNT_QUERIES === '2') process.stderr.write(`${queries.top()}\n`);
  for (let i = 0; i < n; i++) {
    const root = await store.getActor(`${prefix}-${i}`);
    if (root?.status !== 'done' || root.seq !== steps + 1) throw new Error(`bench: run ${prefix}-${i} is ${root?.status} at seq ${root?.seq}, expected done at ${steps + 1}`);
  }
  await runtime.stop();
  await store.close();
  return { ...measured, ...(queries.on ? { queriesPerStep: sent / (runs * steps) } : {}) };
}

/**
 * What no runtime on this server can beat: the writes of each activity step (the finished job's
 * result, the actor's new snapshot, its history row, the next job) into Spine's own tables and
 * indexes, as ONE statement committed on its own (one round trip, one WAL flush), with nothing
 * read, decided or encoded; `inFlight` runs at a time over as many connections as a Spine host
 * pools (10). A run is its actor row and first job, then `steps` such statements.
 */
async function floor(url: string, prefix: string): Promise<WorkerReport> {
  const target = new URL(url);
  const schema = target.searchParams.get('schema') ?? 'public';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bench: schema '${schema}' is not a plain identifier`);
  target.searchParams.delete('schema');
  const pool = new pg.Pool({ connectionString: target.toString(), max: Math.min(inFlight, 10), options: `-c search_path=${schema}` });
  const registry = new MachineRegistry();
  registry.register(activityChain(steps));
  const { machine } = registry.machine('chain');
  const snapshot = JSON.stringify(machine.getPersistedSnapshot(createActor(machine).getSnapshot()));
  const body = Buffer.from(`{"type":"xstate.done.actor.w","output":{"ok":true}}${snapshot}`);
  const step = `WITH fin AS (UPDATE jobs SET status = 'done', output = '{"ok":true}', attempts = 1, finished_at = $3 WHERE key = $1 RETURNING key),
      act AS (UPDATE actors SET seq = $2, snapshot = $4, state_value = $5, updated_at = $3 WHERE id = $6 AND seq = $2 - 1 RETURNING id),
      his AS (INSERT INTO history (actor_id, run_id, seq, event_type, state_value, status, version, started_at, duration_us, checkpoint, body, job_key)
              VALUES ($6, $6, $2, 'xstate.done.actor.w', $5, 'active', 'v1', $3, 10, true, $7, $1) RETURNING row_id),
      nxt AS (INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, run_at, created_at)
              SELECT $8::text, $6, $6, 'w', 'work', '{}', 'pending', $3, $3 WHERE $8::text IS NOT NULL RETURNING key)
    SELECT (SELECT count(*) FROM fin) + (SELECT count(*) FROM act) + (SELECT count(*) FROM his) AS n`;
  let n = 0;
  const one = async () => {
    const runId = `${prefix}-${n++}`;
    const now = Date.now();
    await pool.query(
      `WITH a AS (INSERT INTO actors (id, run_id, machine, version, snapshot, state_value, created_at, updated_at) VALUES ($1, $1, 'chain', 'v1', $2, '"s0"', $3, $3))
       INSERT INTO jobs (key, actor_id, run_id, child_id, src, input, status, run_at, created_at) VALUES ($1 || ':0', $1, $1, 'w', 'work', '{}', 'pending', $3, $3)`,
      [runId, snapshot, now],
    );
    for (let seq = 1; seq <= steps; seq++) {
      const next = seq < steps ? `${runId}:${seq}` : null;
      const { rows } = await pool.query({ name: 'floor-step', text: step, values: [`${runId}:${seq - 1}`, seq, Date.now(), snapshot, `"s${seq % steps}"`, runId, body, next] });
      if (Number(rows[0].n) !== 3) throw new Error(`bench: the floor's step ${seq} of ${runId} wrote ${rows[0].n} of 3 rows`);
    }
  };
  const measured = await timed(one);
  await pool.end();
  return measured;
}

/**
 * Counts the statements sent to the server (a profile of round trips), when asked to; with
 * `SPINE_BENCH_COUNT_QUERIES=2` also prints the most frequent ones to stderr.
 */
function countQueries(): { on: boolean; count: number; top(): string } {
  const mode = process.env.SPINE_BENCH_COUNT_QUERIES;
  const bySql = new Map<string, number>();
  const counter = { on: mode === '1' || mode === '2', count: 0, top: () => [...bySql].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([sql, n]) => `${String(n).padStart(7)}  ${sql}`).join('\n') };
  if (!counter.on) return counter;
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    counter.count++;
    if (mode === '2') {
      const sql = (typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text)).replace(/\s+/g, ' ').slice(0, 110);
      bySql.set(sql, (bySql.get(sql) ?? 0) + 1);
    }
    return query.apply(this, args);
  };
  return counter;
}

/** The parts of DBOS Transact the benchmark uses (typed here: the peer is a dev dependency of the repo's tests, never of the CLI). */
interface Dbos {
  DBOS: {
    setConfig(config: { name: string; systemDatabaseUrl: string; logLevel?: string; runAdminServer?: boolean }): void;
    registerWorkflow<A extends unknown[], R>(fn: (...args: A) => Promise<R>, config: { name: string }): (...args: A) => Promise<R>;
    runStep<R>(fn: () => Promise<R>, config: { name: string }): Promise<R>;
    launch(): Promise<void>;
    shutdown(): Promise<void>;
  };
}

/** DBOS Transact on its system database: the same 20 steps as `DBOS.runStep` calls of one workflow, each checkpointed before the next. */
async function dbos(url: string, prefix: string): Promise<WorkerReport> {
  const name = '@dbos-inc/dbos-sdk'; // a variable: no bundler or type checker may treat the peer as a dependency
  const { DBOS } = (await import(name)) as Dbos;
  DBOS.setConfig({ name: 'spine-bench', systemDatabaseUrl: url, logLevel: 'error', runAdminServer: false });
  const work = async () => ({ ok: true });
  const chain = DBOS.registerWorkflow(
    async () => {
      let count = 0;
      for (let i = 0; i < steps; i++) if ((await DBOS.runStep(work, { name: `s${i}` })).ok) count++;
      return count;
    },
    { name: `${prefix}-chain` },
  );
  await DBOS.launch();
  const one = async () => {
    const count = await chain();
    if (count !== steps) throw new Error(`bench: a DBOS workflow ran ${count} steps, expected ${steps}`);
  };
  const measured = await timed(one);
  await DBOS.shutdown();
  return measured;
}
