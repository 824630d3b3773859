import type { MetricThreshold, ScoreResult, ScorerKind } from './defineEvalSuite.js';

/** One scored run of one case. */
export interface CaseResult {
  caseId: string;
  repeat: number;
  runId: string;
  status: 'done' | 'error' | 'stopped' | 'waiting';
  completed: boolean;
  scores: Record<string, ScoreResult>;
  tokens: number;
  costUsd: number;
}

/** The spread of one scorer's values over every run. */
export interface Distribution {
  n: number;
  mean: number;
  stdev: number;
  min: number;
  p50: number;
  p90: number;
  max: number;
}

/** A suite's numbers: metrics (what thresholds and baselines check) and distributions. */
export interface SuiteMetrics {
  metrics: Record<string, number>;
  distributions: Record<string, Distribution>;
  /** Per case: the share of its repeats that passed every scorer. */
  casePassRates: Record<string, number>;
  /** Tokens and cost of every run and judge call of the suite. */
  totals: { tokens: number; costUsd: number };
}

/** Whether more is better for a metric (the rest: less is better). */
export function higherIsBetter(metric: string): boolean {
  return !(metric.endsWith('error_rate') || metric.startsWith('tokens') || metric.startsWith('cost_'));
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n ? sorted.reduce((s, v) => s + v, 0) / n : 0;
  const stdev = n ? Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / n) : 0;
  const at = (q: number) => (n ? sorted[Math.min(n - 1, Math.floor(q * n))]! : 0);
  return { n, mean: round(mean), stdev: round(stdev), min: sorted[0] ?? 0, p50: at(0.5), p90: at(0.9), max: sorted[n - 1] ?? 0 };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/**
 * Computes a suite's metrics from its scored runs: `task_completion` (runs whose task completed),
 * `pass_rate` (runs that completed and passed every scorer that applied), `tool_selection_error_rate`
 * (failed tool-selection scores), `judge_mean` (mean judge score, 0..10), `<scorer>.mean` and
 * `<scorer>.pass_rate` for each scorer, `tokens_per_run` and `cost_per_run_usd` (run and judge calls
 * together; the suite's totals are in `totals`).
 */
export function suiteMetrics(results: readonly CaseResult[], kinds: Record<string, ScorerKind>): SuiteMetrics {
  const metrics: Record<string, number> = {};
  const distributions: Record<string, Distribution> = {};
  const runs = results.length;
  const passed = (r: CaseResult) => r.completed && Object.values(r.scores).every((s) => s.skipped || s.pass);
  metrics['runs'] = runs;
  metrics['task_completion'] = round(runs ? results.filter((r) => r.completed).length / runs : 0);
  metrics['pass_rate'] = round(runs ? results.filter(passed).length / runs : 0);
  const applied = (name: string) => results.map((r) => r.scores[name]).filter((s): s is ScoreResult => s !== undefined && !s.skipped);
  const byKind = (kind: ScorerKind) => Object.keys(kinds).filter((name) => kinds[name] === kind).flatMap(applied);
  const tools = byKind('tool_selection');
  if (tools.length) metrics['tool_selection_error_rate'] = round(tools.filter((s) => !s.pass).length / tools.length);
  const judged = byKind('judge');
  if (judged.length) metrics['judge_mean'] = round(judged.reduce((sum, s) => sum + s.value, 0) / judged.length);
  for (const name of Object.keys(kinds)) {
    const scores = applied(name);
    if (!scores.length) continue;
    distributions[name] = distribution(scores.map((s) => s.value));
    metrics[`${name}.mean`] = distributions[name].mean;
    metrics[`${name}.pass_rate`] = round(scores.filter((s) => s.pass).length / scores.length);
  }
  // Per run, so a baseline taken over the whole dataset compares with a subset (--cases).
  metrics['tokens_per_run'] = runs ? Math.round(results.reduce((sum, r) => sum + r.tokens, 0) / runs) : 0;
  metrics['cost_per_run_usd'] = runs ? round(results.reduce((sum, r) => sum + r.costUsd, 0) / runs) : 0;
  const casePassRates: Record<string, number> = {};
  const byCase = new Map<string, CaseResult[]>();
  for (const r of results) byCase.set(r.caseId, [...(byCase.get(r.caseId) ?? []), r]);
  for (const [id, list] of byCase) casePassRates[id] = round(list.filter(passed).length / list.length);
  const totals = { tokens: results.reduce((sum, r) => sum + r.tokens, 0), costUsd: round(results.reduce((sum, r) => sum + r.costUsd, 0)) };
  return { metrics, distributions, casePassRates, totals };
}

/** A saved baseline: the metrics of a run of the suite that was accepted. */
export interface Baseline {
  suite: string;
  savedAt: string;
  metrics: Record<string, number>;
}

/** One line of the gate's table: a check on one metric and whether it held. */
export interface GateCheck {
  metric: string;
  value: number | undefined;
  check: 'threshold' | 'baseline';
  /** `>= 0.9`, `<= 0.1`, or `>= 7.5 (baseline 8, tolerance 0.5)`. */
  expected: string;
  held: boolean;
}

/**
 * Checks thresholds and, when a baseline is given, that no metric it holds got worse by more
 * than its tolerance (default 0.05; metrics named `judge*` 0.5; `tokens_*` and `cost_*` 10 % of the baseline).
 * A metric a threshold or baseline names but this run lacks does not hold.
 */
export function checkGate(
  metrics: Record<string, number>,
  options: { thresholds?: Record<string, MetricThreshold>; baseline?: Baseline; tolerance?: Record<string, number> },
): GateCheck[] {
  const checks: GateCheck[] = [];
  for (const [metric, bound] of Object.entries(options.thresholds ?? {})) {
    const value = metrics[metric];
    if (bound.min !== undefined) checks.push({ metric, value, check: 'threshold', expected: `>= ${bound.min}`, held: value !== undefined && value >= bound.min });
    if (bound.max !== undefined) checks.push({ metric, value, check: 'threshold', expected: `<= ${bound.max}`, held: value !== undefined && value <= bound.max });
  }
  if (options.baseline) {
    for (const [metric, base] of Object.entries(options.baseline.metrics)) {
      if (metric === 'runs') continue;
      const value = metrics[metric];
      const tolerance = options.tolerance?.[metric] ?? defaultTolerance(metric, base);
      const higher = higherIsBetter(metric);
      const limit = round(higher ? base - tolerance : base + tolerance);
      checks.push({
        metric,
        value,
        check: 'baseline',
        expected: `${higher ? '>=' : '<='} ${limit} (baseline ${base}, tolerance ${round(tolerance)})`,
        held: value !== undefined && (higher ? value >= limit : value <= limit),
      });
    }
  }
  return checks;
}

function defaultTolerance(metric: string, base: number): number {
  if (metric.startsWith('tokens') || metric.startsWith('cost_')) return Math.abs(base) * 0.1;
  if (metric.startsWith('judge')) return 0.5;
  return 0.05;
}
