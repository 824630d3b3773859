import { describe, expect, it } from 'vitest';
import { checkGate, suiteMetrics, type CaseResult } from './metrics.js';

const result = (caseId: string, repeat: number, scores: CaseResult['scores'], completed = true): CaseResult => ({
  caseId,
  repeat,
  runId: `eval-${caseId}-${repeat}`,
  status: completed ? 'done' : 'error',
  completed,
  scores,
  tokens: 100,
  costUsd: 0.01,
});
const kinds = { tools: 'tool_selection', judge: 'judge', exact: 'match' } as const;

describe('suiteMetrics', () => {
  it('reports completion, tool-selection errors, the judge mean and a distribution per scorer over repeats', () => {
    const m = suiteMetrics(
      [
        result('a', 0, { tools: { value: 1, pass: true }, judge: { value: 9, pass: true }, exact: { value: 0, pass: true, skipped: true } }),
        result('a', 1, { tools: { value: 0, pass: false }, judge: { value: 5, pass: false } }),
        result('b', 0, { tools: { value: 1, pass: true }, judge: { value: 7, pass: true } }, false),
        result('b', 1, { tools: { value: 1, pass: true }, judge: { value: 7, pass: true } }),
      ],
      kinds,
    );
    expect(m.metrics).toMatchObject({ runs: 4, task_completion: 0.75, pass_rate: 0.5, tool_selection_error_rate: 0.25, judge_mean: 7, tokens_per_run: 100, cost_per_run_usd: 0.01 });
    expect(m.metrics['exact.mean']).toBeUndefined(); // skipped everywhere: no metric
    expect(m.distributions['judge']).toEqual({ n: 4, mean: 7, stdev: 1.4142, min: 5, p50: 7, p90: 9, max: 9 });
    expect(m.casePassRates).toEqual({ a: 0.5, b: 0.5 });
    expect(m.totals).toEqual({ tokens: 400, costUsd: 0.04 });
  });
});

describe('checkGate', () => {
  it('holds a min and a max threshold and fails a metric the run lacks', () => {
    const checks = checkGate({ task_completion: 0.8, tool_selection_error_rate: 0 }, { thresholds: { task_completion: { min: 0.9 }, tool_selection_error_rate: { max: 0.1 }, judge_mean: { min: 7 } } });
    expect(checks.map((c) => [c.metric, c.held])).toEqual([
      ['task_completion', false],
      ['tool_selection_error_rate', true],
      ['judge_mean', false],
    ]);
  });

  it('flags a regression against the baseline in the direction that is worse, within tolerance', () => {
    const baseline = { suite: 's', savedAt: '', metrics: { runs: 3, judge_mean: 8.5, tool_selection_error_rate: 0, tokens_per_run: 1000 } };
    const held = checkGate({ judge_mean: 8.1, tool_selection_error_rate: 0.04, tokens_per_run: 1090 }, { baseline });
    expect(held.every((c) => c.held)).toBe(true);
    const broken = checkGate({ judge_mean: 7.9, tool_selection_error_rate: 0.1, tokens_per_run: 1200 }, { baseline });
    expect(broken.filter((c) => !c.held).map((c) => c.metric)).toEqual(['judge_mean', 'tool_selection_error_rate', 'tokens_per_run']);
    expect(broken[0]!.expected).toBe('>= 8 (baseline 8.5, tolerance 0.5)');
    expect(checkGate({ judge_mean: 8.4 }, { baseline, tolerance: { judge_mean: 0 } }).find((c) => c.metric === 'judge_mean')!.held).toBe(false);
  });
});
