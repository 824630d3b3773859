import { createHash } from 'node:crypto';
import { runLedger } from '@spine/llm';
import type { Runtime, RunOutcome } from '@spine/runtime';
import type { EvalCase, EvalRunView, EvalSuite, JudgeClient, ScoreResult, ScorerKind } from './defineEvalSuite.js';
import type { EvalStore, StoredResult } from './EvalStore.js';
import { checkGate, suiteMetrics, type Baseline, type GateCheck, type SuiteMetrics } from './metrics.js';

/** Options of `runEvalSuite`. */
export interface RunEvalOptions {
  runtime: Runtime;
  evalStore: EvalStore;
  cases: readonly EvalCase[];
  judge: JudgeClient;
  /** Runs per case (default: the suite's `repeat`, else 1). */
  repeat?: number;
  /** Cases run at once (default 4). */
  concurrency?: number;
  /** Mixed into the session fingerprint: a hash of the suite file, dataset and machine code. */
  codeHash?: string;
  baseline?: Baseline;
  /** How long one run may go without progress before it counts as waiting (default 120 s). */
  horizonMs?: number;
  /** Told one line per scored run. */
  onResult?: (result: StoredResult) => void;
  now?: () => number;
}

/** What one `spine eval` of a suite produced. */
export interface EvalReport extends SuiteMetrics {
  suite: string;
  kind: EvalSuite['kind'];
  sessionId: string;
  /** Whether this session picked up where a crashed one stopped. */
  resumed: boolean;
  machine: string;
  versions: Record<string, string>;
  repeat: number;
  checks: GateCheck[];
  /** True when every check held. */
  passed: boolean;
  /** Runs that did not pass every scorer, with the run to open in the studio. */
  failing: { caseId: string; repeat: number; runId: string; status: string; reasons: string[] }[];
  results: StoredResult[];
}

/** The approver the harness signs as when a suite lets it approve held work. */
export const EVAL_APPROVER = 'spine-eval';

/**
 * Runs every case of a suite `repeat` times, each as a real durable run (id
 * `eval-<session>-<case>-<n>`), scores the runs, and checks thresholds and the baseline.
 * A session that crashed resumes: scored runs are kept, started runs are waited for (their
 * completed model calls are journaled, so they are not paid again), the rest are started.
 *
 * @example
 * const report = await runEvalSuite(suite, { runtime, evalStore, cases, judge });
 * process.exitCode = report.passed ? 0 : 1;
 */
export async function runEvalSuite(suite: EvalSuite, options: RunEvalOptions): Promise<EvalReport> {
  const { runtime, evalStore } = options;
  const now = options.now ?? Date.now;
  const repeat = options.repeat ?? suite.repeat ?? 1;
  const version = (await runtime.registry.current(suite.machine, runtime.store)).version;
  const versions: Record<string, string> = { [suite.machine]: version, ...(options.codeHash ? { code: options.codeHash.slice(0, 12) } : {}) };
  const fingerprint = sha256([suite.name, suite.kind, suite.machine, version, options.codeHash ?? '', String(repeat), JSON.stringify(options.cases)].join('\u0000'));
  const previous = evalStore.unfinishedSession(suite.name, fingerprint);
  const sessionId = previous?.id ?? `${safeId(suite.name)}-${now().toString(36)}`;
  if (!previous) evalStore.startSession({ id: sessionId, suite: suite.name, mode: 'offline', fingerprint, versions, startedAt: now() });

  const done = new Set(evalStore.results(sessionId).map((r) => `${r.caseId}#${r.repeat}`));
  const tasks = options.cases.flatMap((c) => Array.from({ length: repeat }, (_, n) => ({ c, n }))).filter(({ c, n }) => !done.has(`${c.id}#${n}`));
  const kinds: Record<string, ScorerKind> = Object.fromEntries(suite.scorers.map((s) => [s.name, s.kind]));

  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const { c, n } = tasks[next++]!;
      const runId = `eval-${sessionId}-${c.id}-${n}`;
      const view = await driveCase(suite, runtime, c, runId, options.horizonMs ?? 120_000);
      const scored = await scoreRun(suite, c, view, options.judge);
      const actor = await runtime.store.getActor(runId);
      const result = storedResult({ sessionId, caseId: c.id, repeat: n, runId, machine: suite.machine, version: actor?.version ?? version }, view, scored, now());
      evalStore.saveResult(result);
      options.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, tasks.length)) }, worker));

  const results = evalStore.results(sessionId);
  const numbers = suiteMetrics(results, kinds);
  const checks = checkGate(numbers.metrics, { ...(suite.thresholds ? { thresholds: suite.thresholds } : {}), ...(options.baseline ? { baseline: options.baseline } : {}), ...(suite.tolerance ? { tolerance: suite.tolerance } : {}) });
  const failing = results
    .filter((r) => !r.completed || Object.values(r.scores).some((s) => !s.skipped && !s.pass))
    .map((r) => ({
      caseId: r.caseId,
      repeat: r.repeat,
      runId: r.runId,
      status: r.status,
      reasons: [
        ...(r.completed ? [] : [`task not completed (run ${r.status})`]),
        ...Object.entries(r.scores)
          .filter(([, s]) => !s.skipped && !s.pass)
          .map(([name, s]) => `${name}: ${s.detail ?? `scored ${s.value}`}`),
      ],
    }));
  const report: EvalReport = {
    suite: suite.name,
    kind: suite.kind,
    sessionId,
    resumed: previous !== undefined,
    machine: suite.machine,
    versions,
    repeat,
    ...numbers,
    checks,
    passed: checks.every((c) => c.held),
    failing,
    results,
  };
  evalStore.finishSession(sessionId, { ...report, results: undefined }, now());
  return report;
}

/** Starts (or finds) a case's run, drives it to an end, and reads what the scorers need. */
async function driveCase(suite: EvalSuite, runtime: Runtime, c: EvalCase, runId: string, horizonMs: number): Promise<EvalRunView> {
  const store = runtime.store;
  if (!(await store.getActor(runId))) {
    await runtime.startRun(suite.machine, { input: suite.input ? suite.input(c) : suite.kind === 'workflow' ? c.input : undefined, runId });
  }
  if (suite.kind === 'component') {
    const request = suite.request?.(c);
    if (!request) throw new Error(`suite '${suite.name}' is a component eval and needs request(case): the event that sets the agent working`);
    const history = await store.history(runId);
    const queued = await store.nextEvents(runId, Number.MAX_SAFE_INTEGER, 100);
    if (!history.some((h) => h.eventType === request.type) && !queued.some((e) => e.type === request.type)) await runtime.send(runId, request);
  }
  let outcome: RunOutcome = await runtime.waitForRun(runId, { horizonMs });
  for (let decided = 0; outcome.status === 'waiting' && suite.approvals !== 'leave' && decided < 10; decided++) {
    const pending = await store.listApprovals({ runId, status: ['pending'] });
    if (!pending.length) break;
    await runtime.decide(
      { approvalId: pending[0]!.id },
      suite.approvals === 'reject' ? { decision: 'reject', by: EVAL_APPROVER, reason: 'rejected by the eval harness' } : { decision: 'approve', by: EVAL_APPROVER, reason: `eval suite ${suite.name}` },
    );
    outcome = await runtime.waitForRun(runId, { horizonMs });
  }
  return viewOfRun(runtime, runId, outcome);
}

/** What the scorers see of a run: status, output, the root actor's context, every call it journaled. */
export async function viewOfRun(runtime: Runtime, runId: string, outcome?: RunOutcome): Promise<EvalRunView> {
  const store = runtime.store;
  const actor = await store.getActor(runId);
  const jobs = await store.listJobs({ runId });
  const ledger = runLedger(jobs);
  const status: EvalRunView['status'] = outcome?.status ?? (actor?.status === 'active' ? 'waiting' : (actor?.status ?? 'error'));
  let context: Record<string, unknown> | undefined;
  try {
    context = actor?.snapshot ? ((JSON.parse(actor.snapshot) as { context?: Record<string, unknown> }).context ?? undefined) : undefined;
  } catch {
    context = undefined;
  }
  const output = outcome?.status === 'done' ? outcome.output : actor?.output ? (JSON.parse(actor.output) as unknown) : undefined;
  return {
    runId,
    status,
    output,
    context,
    error: outcome?.status === 'error' ? outcome.error : (actor?.error ?? undefined),
    calls: ledger.calls,
    refusedTools: ledger.refusals.map((r) => r.tool),
    tokens: ledger.total.tokens,
    costUsd: ledger.total.costUsd,
  };
}

/** What scoring one run gave: completion, each scorer's result, and the tokens and money the scorers spent. */
export interface ScoredRun {
  completed: boolean;
  scores: Record<string, ScoreResult>;
  tokens: number;
  costUsd: number;
}

/** Runs every scorer on a run; a scorer that throws fails with its message. */
export async function scoreRun(
  suite: Pick<EvalSuite, 'scorers' | 'completed'>,
  c: EvalCase,
  run: EvalRunView,
  judge: JudgeClient,
  options: { onlineOnly?: boolean } = {},
): Promise<ScoredRun> {
  const scores: Record<string, ScoreResult> = {};
  let tokens = 0;
  let costUsd = 0;
  for (const scorer of suite.scorers) {
    if (options.onlineOnly && !scorer.online) continue;
    try {
      const result = await scorer.score({ case: c, run, judge });
      scores[scorer.name] = result;
      tokens += result.tokens ?? 0;
      costUsd += result.costUsd ?? 0;
    } catch (error) {
      scores[scorer.name] = { value: 0, pass: false, detail: `the scorer failed: ${(error as Error)?.message ?? String(error)}` };
    }
  }
  const completed = suite.completed ? Boolean(suite.completed(run)) : run.status === 'done';
  return { completed, scores, tokens, costUsd };
}

/** A scored run as stored: where it belongs, the run's outcome, its scores, and its own spend plus what scoring it cost. */
export function storedResult(
  where: Pick<StoredResult, 'sessionId' | 'caseId' | 'repeat' | 'runId' | 'machine' | 'version'>,
  run: EvalRunView,
  scored: ScoredRun,
  scoredAt: number,
): StoredResult {
  return {
    ...where,
    status: run.status,
    completed: scored.completed,
    scores: scored.scores,
    tokens: run.tokens + scored.tokens,
    costUsd: run.costUsd + scored.costUsd,
    scoredAt,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function safeId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
}
