import type { LedgerCall } from '@spine/llm';

/** One case of a dataset: an id, what the run gets, and what a scorer may compare against. */
export interface EvalCase {
  id: string;
  input: unknown;
  expected?: Record<string, unknown>;
}

/** How a case's run ended, as the scorers see it. */
export interface EvalRunView {
  runId: string;
  status: 'done' | 'error' | 'stopped' | 'waiting';
  /** The machine's output (done runs). */
  output: unknown;
  /** The root actor's context at the end (what a component eval reads its answer from). */
  context: Record<string, unknown> | undefined;
  error: string | undefined;
  /** Every model and tool call the run journaled (all its agents). */
  calls: LedgerCall[];
  /** Tools asked for but refused (not granted to the agent). */
  refusedTools: string[];
  tokens: number;
  costUsd: number;
}

/** What a scorer is given. */
export interface ScoreInput {
  case: EvalCase;
  run: EvalRunView;
  /** Asks the suite's judge model (`judge()` scorers use it). */
  judge: JudgeClient;
}

/** What a scorer answers. `value` is on the scorer's own scale (0..1 unless it says otherwise). */
export interface ScoreResult {
  value: number;
  pass: boolean;
  detail?: string;
  /** True when the scorer does not apply (no expectation for it in this case, or an online run). */
  skipped?: boolean;
  /** Tokens and cost the scorer itself spent (a judge call). */
  tokens?: number;
  costUsd?: number;
}

/** What a metric measures, so thresholds and baselines know which way is better. */
export type ScorerKind = 'task' | 'tool_selection' | 'judge' | 'schema' | 'match' | 'numeric' | 'custom';

/** A named scoring function. */
export interface Scorer {
  name: string;
  kind: ScorerKind;
  /** Whether the scorer works without a dataset expectation (online scoring runs only these). */
  online: boolean;
  score(input: ScoreInput): ScoreResult | Promise<ScoreResult>;
}

/** A judge model call: a rubric and what to judge, answered with a 0..10 score and reasoning. */
export interface JudgeClient {
  (request: { rubric: readonly string[]; subject: unknown; key: string; model?: string }): Promise<{ score: number; reasoning: string; tokens: number; costUsd: number }>;
}

/** A bound on one metric: it holds when `min <= value <= max`. */
export interface MetricThreshold {
  min?: number;
  max?: number;
}

/**
 * An eval suite: which machine to run, the dataset, how to score each run, and what must hold.
 * Write it as `evals/<name>.eval.ts` with a default export.
 */
export interface EvalSuite {
  name: string;
  description?: string;
  /**
   * `workflow`: the machine is a whole pipeline, each case a run of it. `component`: the machine
   * is one agent; `request(case)` is the event that sets it working, and its answer is read from
   * its context when it has nothing left to do.
   */
  kind: 'workflow' | 'component';
  /** The machine each case runs (loaded from `--machines DIR`). */
  machine: string;
  /** A JSONL file (relative to the suite file), or the cases themselves. */
  dataset: string | readonly EvalCase[];
  /** The run's input for a case (default: `case.input` for a workflow, none for a component: its case input goes into `request`). */
  input?: (c: EvalCase) => unknown;
  /** Component evals: the event sent to the agent after it starts. */
  request?: (c: EvalCase) => { type: string; [key: string]: unknown };
  /** Whether a finished run completed its task (default: it ended `done`). */
  completed?: (run: EvalRunView) => boolean;
  scorers: readonly Scorer[];
  /** Bounds per metric (`task_completion`, `tool_selection_error_rate`, `judge_mean`, `pass_rate`, `<scorer>.mean`, …). */
  thresholds?: Record<string, MetricThreshold>;
  /** How much worse than the baseline a metric may get before it is a regression (absolute; default 0.05, judge scores 0.5). */
  tolerance?: Record<string, number>;
  /** Runs per case (default 1; `--repeat N` overrides). */
  repeat?: number;
  /** What the harness decides when a run waits for an approval (default `approve`, signed and audited as `spine-eval`). */
  approvals?: 'approve' | 'reject' | 'leave';
  /** The judge's model (default: the provider's cheap model). */
  judgeModel?: string;
  /**
   * The scripted Chat Completions rules to serve when no provider is configured (offline CI).
   * Not a model: it answers by fixed rules, so scores measure the plumbing and the prompts'
   * effect on those rules, not a model's quality.
   */
  scripted?: () => readonly unknown[];
}

/**
 * Declares an eval suite (identity function for type checking).
 *
 * @example
 * export default defineEvalSuite({
 *   name: 'research', kind: 'workflow', machine: 'supervisor', dataset: './research.jsonl',
 *   scorers: [scorers.expectedTools(), scorers.judge({ rubric: ['The title names the topic.'] })],
 *   thresholds: { task_completion: { min: 0.9 }, tool_selection_error_rate: { max: 0.1 }, judge_mean: { min: 7 } },
 * });
 */
export function defineEvalSuite(suite: EvalSuite): EvalSuite {
  return suite;
}
