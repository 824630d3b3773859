import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EvalCase, EvalSuite } from './defineEvalSuite.js';
import { EvalError } from './EvalError.js';
import { loadDataset } from './loadDataset.js';

/** A suite loaded from its file, with its cases and a hash of both (for resuming a crashed session). */
export interface LoadedSuite {
  suite: EvalSuite;
  file: string;
  cases: EvalCase[];
  hash: string;
}

/**
 * Finds and imports a suite: `name` is a path to a `.eval.ts`/`.eval.js` file, or a name looked
 * up as `<dir>/<name>.eval.ts` (then `.eval.js`). TypeScript files need a loader (the CLI
 * registers tsx).
 *
 * @throws EvalError `unknown_suite` (listing where it looked) or `invalid_suite` naming the problem.
 */
export async function loadEvalSuite(name: string, options: { dir: string }): Promise<LoadedSuite> {
  const candidates = /\.eval\.[cm]?[jt]s$/.test(name) ? [resolve(name)] : [resolve(options.dir, `${name}.eval.ts`), resolve(options.dir, `${name}.eval.js`)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new EvalError('unknown_suite', `no eval suite '${name}': looked for ${candidates.join(', ')}`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new EvalError('invalid_suite', `${file} failed to import: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  const suite = module['default'] as EvalSuite | undefined;
  const problem = checkSuite(suite);
  if (problem) throw new EvalError('invalid_suite', `${file}: ${problem}`);
  let datasetText = '';
  let cases: EvalCase[];
  if (typeof suite!.dataset === 'string') {
    const path = resolve(dirname(file), suite!.dataset);
    cases = loadDataset(path);
    datasetText = readFileSync(path, 'utf8');
  } else {
    cases = [...suite!.dataset];
  }
  const hash = createHash('sha256').update(readFileSync(file)).update(datasetText).digest('hex');
  return { suite: suite!, file, cases, hash };
}

function checkSuite(suite: EvalSuite | undefined): string | undefined {
  if (!suite || typeof suite !== 'object') return 'the default export must be a suite (export default defineEvalSuite({ ... }))';
  if (typeof suite.name !== 'string' || !suite.name) return 'the suite needs a name';
  if (suite.kind !== 'workflow' && suite.kind !== 'component') return `kind must be 'workflow' or 'component', got ${JSON.stringify(suite.kind)}`;
  if (typeof suite.machine !== 'string') return 'the suite needs the machine it runs (machine: "<name>")';
  if (suite.kind === 'component' && typeof suite.request !== 'function') return 'a component suite needs request(case): the event that sets the agent working';
  if (!Array.isArray(suite.scorers) || !suite.scorers.length) return 'the suite needs at least one scorer';
  const names = suite.scorers.map((s) => s?.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) return `two scorers are named '${twice}'; give one a name option`;
  if (typeof suite.dataset !== 'string' && !Array.isArray(suite.dataset)) return 'dataset must be a JSONL path or an array of cases';
  return undefined;
}
