import { hostname } from 'node:os';
import { createRuntime } from '@spine/runtime';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { loadMachines } from '../loadMachines.js';
import { openStore } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';
import { help } from '../help.js';

const usage = 'spine worker [--db FILE|postgres://…] [--machines DIR] [--concurrency N] [--drain-timeout S] [--host-id ID] [--hostname NAME]  (lease: $SPINE_LEASE_MS, default 6000)';

/**
 * `spine worker`: a headless host, what a deployment runs N of on one database. It drives
 * every run it can claim until SIGTERM or SIGINT, then drains: it takes no new work, lets the
 * steps and activity attempts in flight finish (up to `--drain-timeout`; the rest are aborted
 * and run again on another worker with the same idempotency key), releases its leases and exits 0.
 */
export async function worker(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...dbOptions, concurrency: { type: 'string' }, 'drain-timeout': { type: 'string' }, 'host-id': { type: 'string' }, hostname: { type: 'string' }, 'poll-ms': { type: 'string' } },
    usage,
  );
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const concurrency = intArg(values.concurrency, '--concurrency', 0);
  const drainTimeoutMs = intArg(values['drain-timeout'], '--drain-timeout', 30) * 1000;
  const pollIntervalMs = intArg(values['poll-ms'], '--poll-ms', 100);
  if (pollIntervalMs < 1) throw new CliError(`--poll-ms must be at least 1\nusage: ${usage}`);
  const leaseMs = leaseFromEnv();
  const machine = values.hostname;
  if (machine !== undefined && !machine.trim()) throw new CliError(`--hostname must not be empty\nusage: ${usage}`);
  const hostId = values['host-id'] ?? `worker-${machine || hostname()}-${process.pid}`;
  const db = dbPath(values.db);
  const registry = await loadMachines(values.machines ?? 'machines');
  const store = await openStore(db);
  const runtime = createRuntime({ store, machines: registry, hostId, ...(machine ? { hostname: machine } : {}), pollIntervalMs, ...(leaseMs ? { leaseMs } : {}), ...(concurrency ? { maxRunningActivities: concurrency } : {}) });
  const where = (store as { where?: unknown }).where;
  try {
    await restoreBreakers(store); // a provider failing before this process started stays open
    // Signals before start: a SIGTERM during start still drains.
    const stop = new Promise<'signal' | Error>((resolve) => {
      process.once('SIGINT', () => resolve('signal'));
      process.once('SIGTERM', () => resolve('signal'));
      void runtime.failed.then(resolve);
    });
    await runtime.start();
    process.stderr.write(
      `spine worker: host ${hostId} on ${typeof where === 'string' ? where : db}, lease ${leaseMs ?? 6000} ms, ${concurrency ? `up to ${concurrency} activities at once` : 'activities unbounded'}, pid ${process.pid}\n`,
    );
    // The runtime's timers do not hold the process open (an embedding app decides that): a worker does, until told to stop.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const reason = await stop.finally(() => clearInterval(keepAlive));
    if (reason instanceof Error) throw reason; // a storage error no retry can fix: one message, a non-zero exit
    process.stderr.write(`spine worker: host ${hostId} draining (up to ${drainTimeoutMs / 1000} s)\n`);
    const { aborted } = await runtime.drain({ timeoutMs: drainTimeoutMs });
    process.stderr.write(`spine worker: host ${hostId} drained${aborted ? `, ${aborted} attempt(s) aborted to run again elsewhere` : ''}; leases released\n`);
    return EXIT.done;
  } finally {
    await runtime.stop();
    await store.close();
  }
}

/** `SPINE_LEASE_MS`: the host's lease, in ms (unset: the runtime's default). */
function leaseFromEnv(): number | undefined {
  const text = process.env.SPINE_LEASE_MS;
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 100) throw new CliError(`SPINE_LEASE_MS must be a whole number of milliseconds, at least 100, got '${text}'`);
  return ms;
}
