import { defineEvalSuite, scorers, type EvalRunView } from '@spine/evals';
import { z } from 'zod';
import { RUBRIC } from '../machines/prompts.js';
import { evalScript } from './scripted.js';

// The research pipeline as a whole (workflow eval): each case is a run of `supervisor` with its
// researcher, writer and verifier. `npm test` runs it through `spine eval` as the CI gate
// (test/evals-gate.test.ts).

const report = (run: EvalRunView) => {
  const context = run.context as { topic?: string; draft?: { title: string; body: string } | null; notes?: unknown[] } | undefined;
  return { topic: context?.topic, title: context?.draft?.title, body: context?.draft?.body, notes: context?.notes };
};

export default defineEvalSuite({
  name: 'research',
  description: 'The report pipeline end to end: researched, written, verified, published.',
  kind: 'workflow',
  machine: 'supervisor',
  dataset: './research.jsonl',
  repeat: 2,
  completed: (run) => run.status === 'done' && (run.output as { status?: string } | undefined)?.status === 'published',
  scorers: [
    scorers.expectedTools(),
    scorers.schema(z.object({ status: z.literal('published'), title: z.string().min(1), location: z.string().min(1), revisions: z.number().int().max(2) }), { name: 'output_schema' }),
    scorers.exact('output.status', 'status', { name: 'status' }),
    scorers.contains('output.title', 'title', { name: 'title_names_topic' }),
    scorers.regex('context.draft.body', /\(source|Sources:/, { name: 'cites_sources' }),
    scorers.numeric('output.revisions', { value: 1 }, { name: 'revisions', tolerance: 1 }),
    scorers.custom('within_300_words', ({ run }) => (report(run).body ?? '').split(/\s+/).filter(Boolean).length <= 300),
    scorers.judge({ rubric: RUBRIC, subject: report }),
  ],
  thresholds: {
    task_completion: { min: 0.9 },
    tool_selection_error_rate: { max: 0.1 },
    judge_mean: { min: 8 },
  },
  scripted: evalScript,
});
