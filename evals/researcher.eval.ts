import { defineEvalSuite, scorers } from '@spine/evals';
import { researchAnswer } from '../machines/researcher.js';
import { evalScript } from './scripted.js';

// The researcher alone (component eval): did it call the right tool, is its answer valid against
// its schema. The agent runs as its own durable run; its answer is read from its context.

export default defineEvalSuite({
  name: 'researcher',
  kind: 'component',
  machine: 'researcher',
  dataset: './researcher.jsonl',
  request: (c) => ({ type: 'research.requested', topic: (c.input as { topic: string }).topic, budget: {}, runBudget: {} }),
  completed: (run) => ((run.context?.['notes'] as unknown[] | undefined)?.length ?? 0) > 0,
  scorers: [
    scorers.expectedTools(),
    scorers.schema(researchAnswer, { from: (run) => ({ notes: run.context?.['notes'] }), name: 'answer_schema' }),
    scorers.custom('sourced_notes', ({ run }) => {
      const notes = (run.context?.['notes'] as { source: string }[] | undefined) ?? [];
      return notes.length > 0 && notes.every((n) => n.source.endsWith('.md'));
    }),
  ],
  thresholds: { task_completion: { min: 1 }, tool_selection_error_rate: { max: 0 }, 'answer_schema.pass_rate': { min: 1 } },
  scripted: evalScript,
});
