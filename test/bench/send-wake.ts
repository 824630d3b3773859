/**
 * Send-to-commit latency across processes: a `spine serve` host drives a run; this process
 * stores events for it one at a time and times each until the host's step is committed. With the
 * wake file (what `spine send` does: store the event, then `wakeHosts()`) and without it (the
 * host finds the event at its next poll, every 100 ms by default). Prints p50 / p90 / max.
 *
 *   node --conditions=@spine/source --import tsx test/bench/send-wake.ts [--sends 50] [--json]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SqliteStore } from '@spine/store-sqlite';
import { startServe, tempDb } from '../e2e/support/spine.js';

const { values } = parseArgs({ options: { sends: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } }, strict: true });
const sends = Number(values.sends);
const machines = fileURLToPath(new URL('../../packages/cli/test-machines', import.meta.url));

async function measure(wake: boolean): Promise<number[]> {
  const db = tempDb();
  // Without the wake file the host finds the event at its poll (100 ms); with it, the poll is set to 60 s so only a wake-up can be timed.
  const serve = await startServe({ db, machines, args: ['--poll-ms', wake ? '60000' : '100'] });
  try {
    const started = await fetch(`${serve.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ machine: 'door', input: { name: 'bench' } }) });
    const { runId } = (await started.json()) as { runId: string };
    const store = await SqliteStore.open(db);
    const latencies: number[] = [];
    try {
      while ((await store.getActor(runId))?.seq !== 1) await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < sends; i++) {
        const event = i % 2 ? { type: 'door.close' } : { type: 'door.open', by: 'bench' };
        const seq = 2 + i;
        const t0 = performance.now();
        await store.enqueue([{ actorId: runId, type: event.type, event: JSON.stringify(event), dueAt: Date.now(), source: 'bench' }]);
        if (wake) store.wakeHosts();
        while (!(await store.historyRow(runId, seq))) await new Promise((r) => setTimeout(r, 1));
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 30)); // not in phase with the poll
      }
    } finally {
      await store.close();
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    await serve.stop();
  }
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const results = [];
for (const wake of [true, false]) {
  const l = await measure(wake);
  results.push({ mode: wake ? 'wake file (spine send)' : 'poll only (100 ms)', p50Ms: pct(l, 0.5), p90Ms: pct(l, 0.9), maxMs: l.at(-1)! });
}
if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else for (const r of results) process.stdout.write(`${r.mode.padEnd(26)} p50 ${r.p50Ms.toFixed(1)} ms  p90 ${r.p90Ms.toFixed(1)} ms  max ${r.maxMs.toFixed(1)} ms  (${sends} sends)\n`);
