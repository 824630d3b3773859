import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createRuntime, MachineRegistry, type Runtime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { createActor, transition, type AnyMachineSnapshot } from 'xstate';
import { intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { benchMachine } from '../benchMachine.js';
import { progress } from '../progress.js';
import { help } from '../help.js';

const usage = 'spine bench [--steps N] [--waiting N] [--json]';

/** `spine bench`: durable step rate against its baselines, and host start over many waiting actors. */
export async function bench(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false }, steps: { type: 'string' }, waiting: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const steps = intArg(values.steps, '--steps', 20_000);
  const waiting = intArg(values.waiting, '--waiting', 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'spine-bench-'));
  const log = (line: string) => !values.json && process.stderr.write(`${line}\n`);
  try {
    log(`spine bench: ${steps} steps per measurement, 20-state machine, ${waiting} waiting actors`);
    const bar = progress('measuring', 6, { enabled: !values.json && Boolean(process.stderr.isTTY) });
    // Each result line replaces the progress line, which is drawn again below it.
    const done = (n: number, next?: string) => bar.update(n, next);
    const report = (line: string, n: number, next?: string) => {
      bar.finish();
      log(line);
      done(n, next);
    };
    done(0, 'in-memory transition()');
    const memory = measureTransition(steps);
    report(`  in-memory transition():      ${fmt(memory.perStepUs)} us/step  (${rate(memory.perStepUs)} steps/s)`, 1, 'bare SQLite transaction');
    const bare = measureBareTransaction(join(dir, 'bare.db'), steps, memory.snapshotJson, memory.eventJson);
    report(`  bare SQLite txn (same writes): ${fmt(bare.perStepUs)} us/step  (${rate(bare.perStepUs)} commits/s)`, 2, 'durable steps, sync=NORMAL');
    const normal = await measureDurable(join(dir, 'normal.db'), steps, 'NORMAL');
    report(`  durable step, sync=NORMAL:   ${fmt(normal.perStepUs)} us/step  (${rate(normal.perStepUs)} steps/s)`, 3, 'durable steps, sync=FULL');
    const full = await measureDurable(join(dir, 'full.db'), Math.min(steps, 5000), 'FULL');
    report(`  durable step, sync=FULL:     ${fmt(full.perStepUs)} us/step  (${rate(full.perStepUs)} steps/s)`, 4, `host start, ${Math.max(1, Math.round(waiting / 10))} waiting actors`);
    const ratio = normal.perStepUs / (memory.perStepUs + bare.perStepUs);
    report(`  overhead: durable / (transition + bare txn) = ${ratio.toFixed(2)}x (target <= 2x)`, 4, `host start, ${Math.max(1, Math.round(waiting / 10))} waiting actors`);
    const small = await measureHostStart(join(dir, 'waiting-small.db'), Math.max(1, Math.round(waiting / 10)));
    done(5, `host start, ${waiting} waiting actors`);
    const large = await measureHostStart(join(dir, 'waiting-large.db'), waiting);
    bar.update(6);
    bar.finish();
    log(`  host start over ${small.actors} waiting actors: ${fmt(small.startMs)} ms, RSS ${mb(small.rss)} MiB`);
    log(`  host start over ${large.actors} waiting actors: ${fmt(large.startMs)} ms, RSS ${mb(large.rss)} MiB (growth ${mb(large.rss - small.rss)} MiB)`);
    const result = {
      steps,
      transitionUs: memory.perStepUs,
      bareTxnUs: bare.perStepUs,
      durableNormal: { perStepUs: normal.perStepUs, stepsPerSec: 1e6 / normal.perStepUs },
      durableFull: { perStepUs: full.perStepUs, stepsPerSec: 1e6 / full.perStepUs },
      overheadRatio: ratio,
      hostStart: { small, large, rssGrowthBytes: large.rss - small.rss },
      targets: {
        normalAtLeast7000: 1e6 / normal.perStepUs >= 7000,
        overheadAtMost2x: ratio <= 2,
        startUnder2s: large.startMs < 2000,
      },
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return EXIT.done;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measureTransition(steps: number) {
  const registry = new MachineRegistry();
  registry.register(benchMachine());
  const { machine } = registry.machine('ring'); // built exactly as the durable host builds it
  let snapshot = createActor(machine).getSnapshot() as AnyMachineSnapshot;
  const event = { type: 'tick', n: 1 };
  for (let i = 0; i < 2000; i++) [snapshot] = transition(machine, snapshot, event);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) [snapshot] = transition(machine, snapshot, event);
  const perStepUs = ((performance.now() - t0) * 1000) / steps;
  return { perStepUs, snapshotJson: JSON.stringify(machine.getPersistedSnapshot(snapshot)), eventJson: JSON.stringify(event) };
}

function measureBareTransaction(path: string, steps: number, snapshotJson: string, eventJson: string) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE actors (id TEXT PRIMARY KEY, seq INTEGER, status TEXT, snapshot TEXT, state_value TEXT, updated_at INTEGER);
           CREATE TABLE history (row_id INTEGER PRIMARY KEY AUTOINCREMENT, actor_id TEXT, run_id TEXT, seq INTEGER, event_type TEXT, event TEXT, state_value TEXT, snapshot TEXT, status TEXT, version TEXT, emitted TEXT, started_at INTEGER, duration_us INTEGER, UNIQUE (actor_id, seq));
           CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, actor_id TEXT, type TEXT, event TEXT, due_at INTEGER, source TEXT, created_at INTEGER);
           CREATE INDEX events_mailbox ON events (actor_id, due_at, id);`);
  db.prepare('INSERT INTO actors VALUES (?, 0, ?, ?, ?, 0)').run('a', 'active', snapshotJson, '"s0"');
  const insertEvent = db.prepare("INSERT INTO events (actor_id, type, event, due_at, source, created_at) VALUES ('a', 'tick', ?, 0, 'external', 0)");
  db.transaction(() => {
    for (let i = 0; i < steps; i++) insertEvent.run(eventJson);
  })();
  const next = db.prepare('SELECT * FROM events WHERE actor_id = ? AND due_at <= ? ORDER BY due_at, id LIMIT 1');
  const update = db.prepare('UPDATE actors SET seq = ?, status = ?, snapshot = ?, state_value = ?, updated_at = ? WHERE id = ? AND seq = ?');
  const del = db.prepare('DELETE FROM events WHERE id = ?');
  const hist = db.prepare('INSERT INTO history (actor_id, run_id, seq, event_type, event, state_value, snapshot, status, version, emitted, started_at, duration_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const step = db.transaction((seq: number) => {
    const ev = next.get('a', Date.now()) as { id: number; event: string };
    update.run(seq, 'active', snapshotJson, '"s1"', Date.now(), 'a', seq - 1);
    del.run(ev.id);
    hist.run('a', 'a', seq, 'tick', ev.event, '"s1"', snapshotJson, 'active', 'v', null, Date.now(), 10);
  });
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) step.immediate(i);
  const perStepUs = ((performance.now() - t0) * 1000) / steps;
  db.close();
  return { perStepUs };
}

async function measureDurable(path: string, steps: number, synchronous: 'NORMAL' | 'FULL') {
  const store = SqliteStore.openSync(path, { synchronous });
  const runtime = createRuntime({ store, machines: [benchMachine()] });
  await runtime.start();
  const actors = 10;
  const ids: string[] = [];
  for (let a = 0; a < actors; a++) ids.push((await runtime.startRun('ring')).runId);
  await runtime.idle();
  await warm(runtime, store, ids, 200);
  const per = Math.ceil(steps / actors);
  const events = ids.flatMap((id) => Array.from({ length: per }, () => ({ actorId: id, type: 'tick', event: '{"type":"tick","n":1}', dueAt: 0, source: 'bench' })));
  await store.enqueue(events); // mailbox filled up front: the measurement is the step loop alone
  const t0 = performance.now();
  await runtime.poke();
  await runtime.idle();
  const perStepUs = ((performance.now() - t0) * 1000) / (per * actors);
  const done = await store.getActor(ids[0]!);
  if (!done || done.seq < per) throw new Error(`bench: expected at least ${per} steps on ${ids[0]}, found ${done?.seq}`);
  await runtime.stop();
  await store.close();
  return { perStepUs };
}

async function warm(runtime: Runtime, store: SqliteStore, ids: string[], n: number) {
  await store.enqueue(ids.flatMap((id) => Array.from({ length: n }, () => ({ actorId: id, type: 'tick', event: '{"type":"tick"}', dueAt: 0, source: 'bench' }))));
  await runtime.poke();
  await runtime.idle();
}

async function measureHostStart(path: string, count: number) {
  const store = SqliteStore.openSync(path);
  const runtime = createRuntime({ store, machines: [benchMachine()], runActivities: false });
  await runtime.start();
  for (let i = 0; i < count; i++) await runtime.startRun('ring', { runId: `waiting-${i}` });
  await runtime.idle();
  await runtime.stop();
  await store.close();
  const script = fileURLToPath(new URL('../benchHost.js', import.meta.url));
  const out = execFileSync(process.execPath, [script, path], { encoding: 'utf8' });
  return { actors: count, ...(JSON.parse(out) as { startMs: number; rss: number; rssBefore: number }) };
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function rate(us: number): string {
  return Math.round(1e6 / us).toLocaleString('en-US');
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
