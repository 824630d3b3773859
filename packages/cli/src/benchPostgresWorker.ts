import { createInterface } from 'node:readline';
import pg from 'pg';
import { createRuntime } from '@spine/runtime';
import { PostgresStore } from '@spine/store-postgres';
import { activityChain } from './benchMachine.js';
import { inParallel } from './benchPeer.js';

// Child process of `spine bench --store postgres`: one worker (a Spine host, or DBOS Transact)
// on a PostgreSQL database. It gets ready (connects, starts, runs one warm-up workflow), prints
// `ready`, waits for `go` on stdin, runs its share of the 20-step activity workflow with
// `inFlight` runs at a time, and prints what it did as one JSON line.
//
//   node benchPostgresWorker.js spine|dbos <url> <runs> <inFlight> <steps> <id prefix>

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

const [mode, url, runsArg, inFlightArg, stepsArg, prefix] = process.argv.slice(2);
const runs = Number(runsArg);
const inFlight = Number(inFlightArg);
const steps = Number(stepsArg);
if (!url || !prefix || !(runs > 0) || !(inFlight > 0) || !(steps > 0) || (mode !== 'spine' && mode !== 'dbos')) {
  process.stderr.write('usage: benchPostgresWorker spine|dbos <url> <runs> <inFlight> <steps> <id prefix>\n');
  process.exit(2);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const go = async () => {
  process.stdout.write('ready\n');
  await lines.next();
};

const report = mode === 'spine' ? await spine(url, prefix) : await dbos(url, prefix);
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);

/** A Spine host over PostgresStore: `runs` runs of the activity workflow, told committed by the host's step notices. */
async function spine(url: string, prefix: string): Promise<WorkerReport> {
  const queries = countQueries();
  const store = await PostgresStore.open(url);
  const runtime = createRuntime({ store, machines: [activityChain(steps)] });
  const waiters = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  runtime.onStep(({ actor, history }) => {
    const waiter = waiters.get(actor.id);
    if (!waiter) return;
    if (actor.status === 'error') waiter.reject(new Error(`bench: run ${actor.id} failed at seq ${history.seq}`));
    else if (history.seq >= steps + 1) waiter.resolve();
    else return;
    waiters.delete(actor.id);
  });
  await runtime.start();
  let n = 0;
  const one = async () => {
    const runId = `${prefix}-${n++}`;
    // The init step, then one step per activity result.
    const done = new Promise<void>((resolve, reject) => waiters.set(runId, { resolve, reject }));
    await runtime.startRun('chain', { runId });
    await done;
  };
  await one();
  await go();
  const before = queries.count;
  const cpu = process.cpuUsage();
  const seconds = await inParallel(runs, inFlight, one);
  const { user, system } = process.cpuUsage(cpu);
  const sent = queries.count - before;
  if (process.env.SPINE_BENCH_COUNT_QUERIES === '2') process.stderr.write(`${queries.top()}\n`);
  for (let i = 0; i < n; i++) {
    const root = await store.getActor(`${prefix}-${i}`);
    if (root?.status !== 'done' || root.seq !== steps + 1) throw new Error(`bench: run ${prefix}-${i} is ${root?.status} at seq ${root?.seq}, expected done at ${steps + 1}`);
  }
  await runtime.stop();
  await store.close();
  return { runs, steps: runs * steps, seconds, cpuUsPerStep: (user + system) / (runs * steps), ...(queries.on ? { queriesPerStep: sent / (runs * steps) } : {}) };
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
  await one();
  await go();
  const cpu = process.cpuUsage();
  const seconds = await inParallel(runs, inFlight, one);
  const { user, system } = process.cpuUsage(cpu);
  await DBOS.shutdown();
  return { runs, steps: runs * steps, seconds, cpuUsPerStep: (user + system) / (runs * steps) };
}
