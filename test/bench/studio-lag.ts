/**
 * Studio lag benchmark: a separate host commits `--rate` steps per second for
 * `--seconds` (default 1,000/s for 30 s) while `spine serve` streams them; a
 * WebSocket client (and, with `--browser`, a WebSocket inside Chromium) records
 * the lag from each step's commit to its arrival. Prints p50/p95/p99/max, the
 * lag and backlog per 5-second window (the trend), and whether the target
 * (p95 < 100 ms, no growing backlog) was met. Exit code 0 unless `--check` and missed.
 *
 *   node --conditions=@spine/source --import tsx test/bench/studio-lag.ts [--rate 1000] [--seconds 30] [--runs 4] [--browser] [--check]
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { launchBrowser, MACHINES, ROOT, startServe, tempDb } from '../e2e/support/spine.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    runs: { type: 'string', default: '4' },
    browser: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
  strict: true,
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const here = dirname(fileURLToPath(import.meta.url));

interface Sample {
  at: number;
  lag: number;
  rowId: number;
}

const db = tempDb();
const serve = await startServe({ db, machines: null });
console.log(`studio-lag: ${rate} steps/s for ${seconds} s over ${values.runs} runs; server ${serve.url} (${db})`);

// The load: a separate process, like `spine run`.
const producer = spawn(
  process.execPath,
  ['--conditions=@spine/source', '--import', 'tsx', join(here, 'support/producer.ts'), '--db', db, '--machines', MACHINES, '--rate', String(rate), '--seconds', String(seconds), '--runs', String(values.runs)],
  { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
);
let producerOut = '';
producer.stdout!.on('data', (d) => (producerOut += d));
await until(() => producerOut.includes('ready '), 30_000, 'producer start');

// Client 1: a WebSocket client subscribed to every run.
const samples: Sample[] = [];
const ws = new WebSocket(`${serve.url.replace('http', 'ws')}/ws`);
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
ws.on('message', (data) => {
  const at = Date.now();
  const message = JSON.parse(String(data)) as { type: string; events?: { type: string; createdAt: string; rowId: number }[] };
  if (message.type !== 'inspect') return;
  for (const e of message.events!) if (e.type === '@xstate.snapshot') samples.push({ at, lag: at - Number(e.createdAt), rowId: e.rowId });
});
ws.send(JSON.stringify({ type: 'subscribe', id: 's', all: true }));

// Client 2 (optional): a WebSocket in a real browser page.
const browser = values.browser ? await launchBrowser() : undefined;
const page = browser ? await browser.newPage() : undefined;
if (page) {
  await page.goto(serve.url);
  await page.evaluate((url) => {
    const w = window as unknown as { lagSamples: number[] };
    w.lagSamples = [];
    const socket = new WebSocket(url);
    socket.onopen = () => socket.send(JSON.stringify({ type: 'subscribe', id: 's', all: true }));
    socket.onmessage = (m) => {
      const at = Date.now();
      const message = JSON.parse(String(m.data)) as { type: string; events?: { type: string; createdAt: string }[] };
      if (message.type === 'inspect') for (const e of message.events!) if (e.type === '@xstate.snapshot') w.lagSamples.push(at - Number(e.createdAt));
    };
  }, `${serve.url.replace('http', 'ws')}/ws`);
}
await new Promise((r) => setTimeout(r, 300));

// Backlog: committed rows the client has not received yet, sampled every second.
const reader = new Database(db, { readonly: true, fileMustExist: true });
const head = reader.prepare('SELECT COALESCE(MAX(row_id), 0) AS head FROM history');
const backlog: { t: number; behind: number; committed: number }[] = [];
const t0 = Date.now();
const sampler = setInterval(() => {
  const committed = (head.get() as { head: number }).head;
  const received = samples.length ? Math.max(...samples.slice(-2000).map((s) => s.rowId)) : 0;
  backlog.push({ t: (Date.now() - t0) / 1000, behind: Math.max(0, committed - received), committed });
}, 1000);

producer.stdin!.write('go\n');
await until(() => producerOut.includes('done '), (seconds + 60) * 1000, 'producer finish');
await new Promise((r) => setTimeout(r, 500));
clearInterval(sampler);
const produced = JSON.parse(producerOut.slice(producerOut.indexOf('done ') + 5).trim().split('\n')[0]!) as { sent: number; seconds: number; rate: number };
const browserLags = page ? await page.evaluate(() => (window as unknown as { lagSamples: number[] }).lagSamples) : undefined;
const committed = (head.get() as { head: number }).head;
reader.close();
ws.close();
await browser?.close();
await serve.stop();

const loadSamples = samples.filter((s) => s.at >= t0);
console.log(`\nproducer: ${produced.sent} steps in ${produced.seconds.toFixed(1)} s = ${Math.round(produced.rate)} steps/s; history rows committed: ${committed}`);
report('WebSocket client (node ws)', loadSamples.map((s) => s.lag), committed);
if (browserLags) report('WebSocket client in Chromium', browserLags, committed);

console.log('\nper 5 s window (node client): received, p95 lag, backlog (rows committed but not yet received, at the window end)');
const windows = Math.ceil(seconds / 5);
for (let w = 0; w < windows; w++) {
  const from = t0 + w * 5000;
  const inWindow = loadSamples.filter((s) => s.at >= from && s.at < from + 5000).map((s) => s.lag);
  const b = backlog.filter((x) => x.t <= (w + 1) * 5).at(-1);
  console.log(`  ${String(w * 5).padStart(3)}-${String(w * 5 + 5).padEnd(3)} s  ${String(inWindow.length).padStart(6)}  p95 ${String(percentile(inWindow, 95)).padStart(4)} ms  backlog ${b?.behind ?? 0}`);
}
const firstHalf = backlog.slice(0, Math.floor(backlog.length / 2)).map((b) => b.behind);
const secondHalf = backlog.slice(Math.floor(backlog.length / 2)).map((b) => b.behind);
const growing = mean(secondHalf) > mean(firstHalf) * 2 + 50;
const p95 = percentile(loadSamples.map((s) => s.lag), 95);
const met = p95 < 100 && !growing && loadSamples.length >= committed * 0.99 - 10;
console.log(`\nbacklog: mean ${mean(firstHalf).toFixed(1)} rows (first half) vs ${mean(secondHalf).toFixed(1)} (second half) -> ${growing ? 'GROWING' : 'flat'}`);
console.log(`target p95 < 100 ms with no growing backlog: ${met ? 'met' : 'MISSED'} (p95 ${p95} ms)`);
process.exit(values.check && !met ? 1 : 0);

function report(label: string, lags: number[], expected: number): void {
  console.log(
    `${label}: received ${lags.length}/${expected} steps; lag p50 ${percentile(lags, 50)} ms, p95 ${percentile(lags, 95)} ms, p99 ${percentile(lags, 99)} ms, max ${Math.max(0, ...lags)} ms`,
  );
}

function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

async function until(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
