import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runLedger, seededRandom, usageOf, type LedgerJob } from '@spine/llm';
import { unpackJobTexts, type StoredJobTexts } from '@spine/runtime';
import { startScriptedModelServer, type ChatRequest, type Script, type ScriptedModelServer } from '@spine/scripted-model';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineScript } from '../machines/scriptedModel.js';
import { PublishReceiver } from './support/publishReceiver.js';

// The research pipeline run by the REAL `spine` process (built dist/, machines loaded with tsx),
// killed with SIGKILL at seeded random moments (some while a model call is held open at the
// scripted server, some at random times) and resumed with `spine resume` until it finishes.
// Build first: `npx tsc -b` (the root `npm test` does).
//
// Each seed costs 4-6 `spine` processes that load the TypeScript machines (several seconds of CPU):
// `npm test` runs 3 seeds; more with SPINE_PIPELINE_CRASH_SEEDS=N (seeds 1000 .. 1000+N-1).

const root = fileURLToPath(new URL('..', import.meta.url));
const spineBin = join(root, 'packages/cli/bin/spine.js');
const SEEDS = Number(process.env.SPINE_PIPELINE_CRASH_SEEDS ?? 3);
const TOPIC = 'durable execution for AI agents';

/** Where a kill lands: while the n-th model call of the process is held at the server, or after some milliseconds. */
type Kill = { inFlightCall: number } | { afterMs: number };

/** What the database says was journaled: the keys of completed model calls, and their usage. */
function journaledCalls(db: string): Map<string, { inputTokens: number; outputTokens: number }> {
  const out = new Map<string, { inputTokens: number; outputTokens: number }>();
  if (!existsSync(db)) return out;
  const sqlite = new Database(db, { readonly: true });
  try {
    // Journals may be packed (deflated against the job's input and output): read them as written.
    const rows = sqlite.prepare('SELECT key, input, output, journal FROM jobs').all() as StoredJobTexts[];
    for (const { journal } of rows.map((row) => unpackJobTexts(row))) {
      for (const entry of JSON.parse(journal) as Record<string, unknown>[]) {
        if (entry['call'] === 'model' && entry['decision'] !== 'budget_exceeded' && typeof entry['idempotencyKey'] === 'string') {
          const usage = usageOf(entry);
          out.set(entry['idempotencyKey'], { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
        }
      }
    }
  } finally {
    sqlite.close();
  }
  return out;
}

function runStored(db: string): boolean {
  if (!existsSync(db)) return false;
  const sqlite = new Database(db, { readonly: true });
  try {
    return Boolean(sqlite.prepare("SELECT 1 FROM sqlite_master WHERE name = 'actors'").get()) && Boolean(sqlite.prepare('SELECT 1 FROM actors WHERE parent_id IS NULL').get());
  } finally {
    sqlite.close();
  }
}

interface CrashRun {
  seed: number;
  kills: number;
  processes: number;
  steps: string[];
  outcome: { status: string; output?: { status: string } };
  /** Model calls sent again because a kill cut them off before their answer was journaled. */
  reSent: number;
  /** Of those, calls the server had already answered (the kill landed between answer and journal). */
  reCompleted: number;
  tokensNotRepaid: number;
  tokensRepaid: number;
}

/**
 * How long one `spine` process may run. Alone one takes 1-2 s; on CI, beside the other suites on two
 * cores, up to ~15 s. A process still running after this is hung: the test fails quoting its report.
 */
const PROCESS_DEADLINE_MS = Number(process.env.SPINE_PIPELINE_CRASH_PROCESS_MS ?? 60_000);

/** Asks a hung process for Node's diagnostic report, kills it, and returns its stack and handles. */
async function hungReport(child: ChildProcess, reports: string, stderr: string): Promise<string> {
  child.kill('SIGUSR2');
  let report: { javascriptStack?: { message?: string; stack?: string[] }; libuv?: { type: string; is_active: boolean; is_referenced?: boolean; remoteEndpoint?: unknown }[] } | undefined;
  for (let waited = 0; waited < 5_000 && !report; waited += 100) {
    await delay(100);
    const file = existsSync(reports) ? readdirSync(reports).find((name) => name.endsWith('.json')) : undefined;
    try {
      if (file) report = JSON.parse(readFileSync(join(reports, file), 'utf8'));
    } catch {
      // Still being written.
    }
  }
  child.kill('SIGKILL');
  if (!report) return `no diagnostic report within 5 s; stderr: ${stderr}`;
  const handles = new Map<string, number>();
  for (const h of report.libuv ?? []) {
    const name = `${h.type}${h.remoteEndpoint ? ` to ${JSON.stringify(h.remoteEndpoint)}` : ''}`;
    if (h.is_active) handles.set(name, (handles.get(name) ?? 0) + 1);
  }
  const stack = [report.javascriptStack?.message ?? '', ...(report.javascriptStack?.stack ?? [])].join('\n  ');
  return [`stack: ${stack}`, `active handles: ${[...handles].map(([name, n]) => `${name} x${n}`).join(', ')}`, `stderr: ${stderr}`].join('\n');
}

let receiver: PublishReceiver;
let server: ScriptedModelServer;
let onModelCall: ((request: ChatRequest) => void) | undefined;

beforeAll(async () => {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('Build first: npx tsc -b (the crash test runs the real spine process from dist/).');
  const script: Script = pipelineScript().map((rule) => ({
    ...rule,
    respond: async (request: ChatRequest) => {
      onModelCall?.(request);
      return rule.respond!(request);
    },
  }));
  server = await startScriptedModelServer({ script, latencyMs: 40 });
  receiver = new PublishReceiver();
  await receiver.start();
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

async function crashRun(seed: number): Promise<CrashRun> {
  server.reset();
  receiver.reset();
  const random = seededRandom(seed);
  // The first kill always lands on a call held at the server; the others are in-flight or timed
  // (a timed kill may land during start-up, between steps, inside a commit, or after the run is done).
  const schedule: Kill[] = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, i) =>
    i === 0 || random() < 0.5 ? { inFlightCall: 1 + Math.floor(random() * 3) } : { afterMs: 150 + Math.floor(random() * 1200) },
  );
  const dir = mkdtempSync(join(tmpdir(), 'spine-pipeline-crash-'));
  const db = join(dir, 'spine.db');
  const reports = mkdirSync(join(dir, 'reports'), { recursive: true })!;
  const env: Record<string, string | undefined> = {
    ...process.env,
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: undefined,
    ANTHROPIC_API_KEY: undefined,
    SPINE_PROVIDER: undefined,
    SPINE_MODEL: 'scripted',
    SPINE_PUBLISH_URL: receiver.url,
  };
  const killedAt: { at: number; journaled: Set<string> }[] = [];
  let args = ['run', 'supervisor', '--db', db, '--machines', 'machines', '--input', JSON.stringify({ topic: TOPIC }), '--json'];
  let processes = 0;
  let approvals = 0;
  let stdout = '';
  /** Each process: its command, how it ended and how long it ran. */
  const steps: string[] = [];
  for (;;) {
    const kill = schedule[killedAt.length];
    processes++;
    const startedAt = Date.now();
    // --report-on-signal: a process that outlives PROCESS_DEADLINE_MS is asked for Node's diagnostic
    // report (its JavaScript stack and open handles), which the failure then quotes.
    const child: ChildProcess = spawn(process.execPath, ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reports}`, spineBin, ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (err += c));
    let calls = 0;
    onModelCall = kill && 'inFlightCall' in kill ? () => void (++calls === kill.inFlightCall && child.kill('SIGKILL')) : undefined;
    const timer = kill && 'afterMs' in kill ? setTimeout(() => child.kill('SIGKILL'), kill.afterMs) : undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = new AbortController();
    const exit = await Promise.race([exited, delay(PROCESS_DEADLINE_MS, undefined, { signal: deadline.signal }).then(() => undefined, () => undefined)]);
    deadline.abort();
    clearTimeout(timer);
    onModelCall = undefined;
    if (!exit) throw new Error(`spine ${args.join(' ')} (process ${processes} of seed ${seed}) still ran after ${PROCESS_DEADLINE_MS} ms; before it: ${steps.join(', ') || 'none'}\n${await hungReport(child, reports, err)}`);
    steps.push(`${args[0]}:${exit.signal ?? exit.code}:${Date.now() - startedAt}ms`);
    if (exit.signal === 'SIGKILL') {
      killedAt.push({ at: Date.now(), journaled: new Set(journaledCalls(db).keys()) });
      // Killed before the run was stored: start it again; otherwise resume it.
      if (runStored(db)) args = ['resume', '--db', db, '--machines', 'machines', '--json'];
      if (processes > 20) throw new Error('the run did not finish after 20 processes');
      continue;
    }
    if (exit.code === 3) {
      // Waiting: publish is medium risk, so the run stops for a person. A reviewer approves;
      // `spine approve` then drives the run on (and may itself be killed by the schedule).
      const waiting = new Database(db, { readonly: true });
      const runId = (waiting.prepare('SELECT id FROM actors WHERE parent_id IS NULL').get() as { id: string }).id;
      waiting.close();
      args = ['approve', runId, '--as', 'reviewer', '--db', db, '--machines', 'machines', '--json'];
      approvals++;
      if (processes > 20) throw new Error('the run did not finish after 20 processes');
      continue;
    }
    if (exit.code !== 0) throw new Error(`spine ${args[0]} exited ${exit.code}: ${err}`);
    stdout = out;
    break;
  }
  const sqlite = new Database(db, { readonly: true });
  const rootRow = sqlite.prepare('SELECT id, status, output FROM actors WHERE parent_id IS NULL').get() as { id: string; status: string; output: string | null };
  const jobs = (sqlite.prepare('SELECT key, actor_id AS actorId, src, attempts, status, input, output, journal FROM jobs').all() as (Omit<LedgerJob, 'journal'> & StoredJobTexts)[])
    .map((row) => unpackJobTexts(row))
    .map(({ input: _input, output: _output, ...job }) => job as LedgerJob);
  sqlite.close();
  const ledger = runLedger(jobs);
  // The last process printed its outcome, or `[]` when a kill had landed after the run finished.
  expect(stdout).toMatch(/"status"|^\[\]/);

  // 1. No call journaled before a kill reached the server again after it.
  for (const { at, journaled } of killedAt) {
    const again = server.requests.filter((r) => r.at > at && journaled.has(r.idempotencyKey ?? ''));
    expect(again.map((r) => r.idempotencyKey)).toEqual([]);
  }
  // 2. Per key: received at most once plus once per kill; completed twice only when the kill cut
  //    the call off after the server answered and before the answer was journaled.
  const kills = killedAt.length;
  let reSent = 0;
  let reCompleted = 0;
  for (const [key, { received, completed }] of server.callsByKey()) {
    expect(key).not.toBe('');
    expect(received).toBeLessThanOrEqual(1 + kills);
    reSent += received - 1;
    if (completed > 1) {
      reCompleted += completed - 1;
      expect(killedAt.some(({ journaled }) => !journaled.has(key))).toBe(true);
    }
    expect(completed).toBeGreaterThanOrEqual(1);
  }
  expect(reSent).toBeLessThanOrEqual(kills);
  // 3. Publish happened exactly once: one key, applied once; sent again at most once per kill.
  expect(receiver.applied.size).toBe(1);
  expect(approvals, "the publish waited for a person at least once").toBeGreaterThanOrEqual(1);
  expect([...receiver.received.values()][0]).toBeLessThanOrEqual(1 + kills);
  // 4. The ledger: each journaled call's usage is what the server answered that key with.
  const finalCalls = journaledCalls(db);
  for (const [key, usage] of finalCalls) {
    const answered = server.requests.filter((r) => r.idempotencyKey === key && r.outcome === 'ok').map((r) => ({ inputTokens: r.usage!.prompt_tokens, outputTokens: r.usage!.completion_tokens }));
    expect(answered).toContainEqual(usage);
  }
  const journaledTokens = [...finalCalls.values()].reduce((n, u) => n + u.inputTokens + u.outputTokens, 0);
  const serverTokens = server.totals().usage.total_tokens;
  expect(ledger.total.tokens).toBe(journaledTokens);
  expect(serverTokens - journaledTokens).toBeGreaterThanOrEqual(0);
  if (reCompleted === 0) expect(serverTokens).toBe(journaledTokens);
  // 5. `spine show`'s resume figures agree with the kills.
  if (ledger.hosts.length > 1) expect(ledger.resume.resumes).toBe(ledger.hosts.length - 1);
  expect(ledger.hosts.length).toBeLessThanOrEqual(processes);

  return {
    seed,
    kills,
    processes,
    steps,
    outcome: { status: rootRow.status, ...(rootRow.output ? { output: JSON.parse(rootRow.output) } : {}) },
    reSent,
    reCompleted,
    tokensNotRepaid: ledger.resume.notRepaid.tokens,
    tokensRepaid: serverTokens - journaledTokens,
  };
}

describe('crash: the real spine process killed at random moments', () => {
  const results: CrashRun[] = [];
  afterAll(() => {
    if (results.length) process.stdout.write(`pipeline crash runs: ${JSON.stringify(results)}\n`);
  });

  it.each(Array.from({ length: SEEDS }, (_, i) => 1000 + i))(
    'seed %i: resumes to a published report, sends no journaled call again, re-sends at most one call per kill, and publishes once',
    async (seed) => {
      const result = await crashRun(seed);
      results.push(result);
      expect(result.outcome).toMatchObject({ status: 'done', output: { status: 'published' } });
      expect(result.kills).toBeGreaterThan(0);
    },
    // Up to six processes, each under PROCESS_DEADLINE_MS: a slow CI machine is not a failure, a hung process is.
    240_000,
  );
});
