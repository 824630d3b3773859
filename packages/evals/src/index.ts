// @spine/evals: eval suites for Spine agents. Every case is a durable run; scores, thresholds and
// baselines make `spine eval` a CI gate.
export { defineEvalSuite } from './defineEvalSuite.js';
export type { EvalCase, EvalRunView, EvalSuite, JudgeClient, MetricThreshold, ScoreInput, ScoreResult, Scorer, ScorerKind } from './defineEvalSuite.js';
export { contains, custom, exact, expectedTools, judge, numeric, regex, schema, scorers } from './scorers.js';
export type { Expect, Pick } from './scorers.js';
export { checkGate, higherIsBetter, suiteMetrics } from './metrics.js';
export type { Baseline, CaseResult, Distribution, GateCheck, SuiteMetrics } from './metrics.js';
export { EvalStore } from './EvalStore.js';
export type { EvalSession, StoredResult } from './EvalStore.js';
export { loadDataset, parseDataset } from './loadDataset.js';
export { loadEvalSuite } from './loadEvalSuite.js';
export type { LoadedSuite } from './loadEvalSuite.js';
export { EVAL_APPROVER, runEvalSuite, scoreRun, viewOfRun } from './runEvalSuite.js';
export type { EvalReport, RunEvalOptions } from './runEvalSuite.js';
export { inSample, scoreOnline } from './scoreOnline.js';
export type { OnlineReport } from './scoreOnline.js';
export { createJudge, JUDGE_SYSTEM, judgeAnswer, judgePrompt } from './createJudge.js';
export { formatOnlineReport, formatReport } from './formatReport.js';
export { EvalError } from './EvalError.js';
export type { EvalErrorCode } from './EvalError.js';
export { evalsOverview } from './evalsOverview.js';
export type { EvalsOverview, SessionOverview } from './evalsOverview.js';
