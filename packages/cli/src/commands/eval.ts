import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createJudge, EvalError, EvalStore, formatOnlineReport, formatReport, loadEvalSuite, runEvalSuite, scoreOnline, type Baseline } from '@spine/evals';
import { createLlmEnvironment, providerKindOf } from '@spine/llm';
import { createRuntime } from '@spine/runtime';
import { startScriptedModelServer, type Script, type ScriptedModelServer } from '@spine/scripted-model';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { loadMachines } from '../loadMachines.js';
import { evalsFileFor, openStore } from '../openStore.js';
import { help } from '../help.js';

const usage =
  'spine eval <suite> [--repeat N] [--cases ID,ID] [--concurrency N] [--baseline FILE] [--save FILE] [--evals DIR] [--db FILE] [--machines DIR] [--json]\n' +
  '       spine eval --online <suite> [--sample RATE] [--evals DIR] [--db FILE] [--machines DIR] [--json]';

/**
 * `spine eval`: runs an eval suite (`<evals>/<suite>.eval.ts`), each case a durable run in the
 * database, and exits 0 when every threshold and the baseline hold, 1 when one does not (the
 * table says which), 2 on bad usage. `--online` scores a sample of finished production runs.
 */
export async function evaluate(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...dbOptions,
      repeat: { type: 'string' },
      cases: { type: 'string' },
      concurrency: { type: 'string' },
      baseline: { type: 'string' },
      save: { type: 'string' },
      evals: { type: 'string' },
      online: { type: 'boolean', default: false },
      sample: { type: 'string' },
    },
    usage,
  );
  if (values.help) return help(usage);
  const [name, ...extra] = positionals;
  if (!name || extra.length) throw new CliError(`expected one suite name\nusage: ${usage}`);
  const sample = values.sample === undefined ? 0.1 : Number(values.sample);
  if (!(sample > 0 && sample <= 1)) throw new CliError(`--sample must be a rate in (0, 1], got '${values.sample}'`);
  if (!values.online && values.sample !== undefined) throw new CliError('--sample goes with --online');
  if (values.online && (values.baseline || values.save || values.repeat || values.cases)) throw new CliError('--online scores production runs; --baseline, --save, --repeat and --cases are for dataset evals');
  const repeat = values.repeat === undefined ? undefined : intArg(values.repeat, '--repeat', 1);
  if (repeat === 0) throw new CliError('--repeat must be at least 1');
  const concurrency = intArg(values.concurrency, '--concurrency', 4) || 1;
  const baseline = values.baseline ? readBaseline(values.baseline) : undefined;

  const machinesDir = values.machines ?? 'machines';
  const registry = await loadMachines(machinesDir); // registers tsx, so the suite file (TypeScript) imports next
  const loaded = await loadEvalSuite(name, { dir: values.evals ?? 'evals' }).catch((error: unknown) => {
    throw error instanceof EvalError ? new CliError(error.message) : error;
  });
  const { suite } = loaded;
  let cases = loaded.cases;
  if (values.cases !== undefined) {
    const wanted = values.cases.split(',').map((id) => id.trim()).filter(Boolean);
    const unknown = wanted.filter((id) => !cases.some((c) => c.id === id));
    if (unknown.length || !wanted.length) throw new CliError(`--cases: no case ${unknown.map((u) => `'${u}'`).join(', ') || 'given'} in suite '${suite.name}' (it has ${cases.map((c) => c.id).join(', ')})`);
    cases = cases.filter((c) => wanted.includes(c.id));
  }
  registry.definition(suite.machine); // an unknown machine is refused before the database is touched

  let server: ScriptedModelServer | undefined;
  if (providerKindOf(process.env) === undefined) {
    if (!suite.scripted) {
      throw new CliError(`no model provider is configured and suite '${suite.name}' has no scripted rules; set OPENAI_BASE_URL / OPENAI_API_KEY or ANTHROPIC_API_KEY`);
    }
    server = await startScriptedModelServer({ script: suite.scripted() as Script });
    process.env['OPENAI_BASE_URL'] = server.url;
    process.env['SPINE_MODEL'] ??= 'scripted';
    process.stderr.write(`offline eval: model calls (the judge's too) go to a scripted Chat Completions server on 127.0.0.1:${server.port} — not a model; scores measure the pipeline against fixed rules.\n`);
  }
  const db = dbPath(values.db);
  // Eval runs publish like any run; keep their side effects apart from a user's own.
  process.env['SPINE_PUBLISH_DIR'] ??= join(dirname(resolve(evalsFileFor(db))), 'eval-published');
  const store = await openStore(db);
  mkdirSync(dirname(resolve(evalsFileFor(db))), { recursive: true });
  const evalStore = EvalStore.open(evalsFileFor(db));
  const runtime = createRuntime({ store, machines: registry });
  const judge = createJudge({ llm: createLlmEnvironment(), ...(suite.judgeModel ? { model: suite.judgeModel } : {}) });
  try {
    await runtime.start();
    if (values.online) {
      const report = await scoreOnline(suite, { runtime, evalStore, judge, sample });
      process.stdout.write(`${values.json ? JSON.stringify(report) : formatOnlineReport(report)}\n`);
      return EXIT.done;
    }
    const report = await runEvalSuite(suite, {
      runtime,
      evalStore,
      cases,
      judge,
      concurrency,
      codeHash: codeHash(loaded.hash, machinesDir),
      ...(repeat === undefined ? {} : { repeat }),
      ...(baseline ? { baseline } : {}),
      onResult: (r) => {
        const failed = Object.entries(r.scores).filter(([, s]) => !s.skipped && !s.pass).map(([n]) => n);
        process.stderr.write(`  ${r.caseId} #${r.repeat}: ${r.completed && !failed.length ? 'pass' : `fail${failed.length ? ` (${failed.join(', ')})` : ` (run ${r.status})`}`}  ${r.runId}\n`);
      },
    });
    if (values.save) {
      const saved: Baseline = { suite: suite.name, savedAt: new Date().toISOString(), metrics: report.metrics };
      writeFileSync(values.save, `${JSON.stringify(saved, null, 2)}\n`);
      process.stderr.write(`baseline saved to ${values.save}\n`);
    }
    process.stdout.write(`${values.json ? JSON.stringify({ ...report, results: report.results.map(({ scores, ...r }) => ({ ...r, scores })) }) : formatReport(report)}\n`);
    return report.passed ? EXIT.done : EXIT.failed;
  } finally {
    await runtime.stop();
    evalStore.close();
    await store.close();
    await server?.close();
  }
}

function readBaseline(file: string): Baseline {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`--baseline ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  const metrics = (json as { metrics?: unknown })?.metrics;
  if (!metrics || typeof metrics !== 'object' || Array.isArray(metrics)) throw new CliError(`--baseline ${file} has no "metrics" object (write one with --save)`);
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new CliError(`--baseline ${file}: metric '${key}' is not a number`);
  }
  return json as Baseline;
}

/** The suite, its dataset and the machine code: a crashed eval resumes only while all three are unchanged. */
function codeHash(suiteHash: string, machinesDir: string): string {
  const hash = createHash('sha256').update(suiteHash);
  const dir = resolve(machinesDir);
  for (const file of readdirSync(dir).filter((f) => /\.(ts|json)$/.test(f) && !f.endsWith('.test.ts')).sort()) {
    hash.update(file).update(readFileSync(join(dir, file)));
  }
  return hash.digest('hex');
}
