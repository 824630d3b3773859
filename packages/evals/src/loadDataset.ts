import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EvalCase } from './defineEvalSuite.js';
import { EvalError } from './EvalError.js';

const caseSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an id is 1-64 letters, digits, "_", "." or "-"'),
  input: z.unknown().optional(),
  expected: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Parses a JSONL dataset: one case per non-empty line, `{ "id", "input", "expected"? }`.
 *
 * @throws EvalError (`invalid_dataset`) naming the file, the line and the field.
 */
export function parseDataset(text: string, source: string): EvalCase[] {
  const cases: EvalCase[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new EvalError('invalid_dataset', `${source}:${i + 1} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = caseSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new EvalError('invalid_dataset', `${source}:${i + 1}: ${issue.path.join('.') || '(case)'}: ${issue.message}`);
    }
    if (seen.has(parsed.data.id)) throw new EvalError('invalid_dataset', `${source}:${i + 1}: case id '${parsed.data.id}' appears twice`);
    seen.add(parsed.data.id);
    cases.push(parsed.data as EvalCase);
  });
  if (!cases.length) throw new EvalError('invalid_dataset', `${source} has no cases`);
  return cases;
}

/** Reads and parses a JSONL dataset file. */
export function loadDataset(path: string): EvalCase[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new EvalError('invalid_dataset', `cannot read dataset ${path}: ${(error as Error).message}`);
  }
  return parseDataset(text, path);
}
