import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { providerKindOf } from '@spine/llm';
import { createRuntime, type Runtime } from '@spine/runtime';
import { startScriptedModelServer, type Script, type ScriptedModelServer } from '@spine/scripted-model';
import type { SqliteStore } from '@spine/store-sqlite';
import { dbOptions, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { loadMachines } from '../loadMachines.js';
import { openStore } from '../openStore.js';
import { help } from './run.js';
import { showRun } from './show.js';

const usage = 'spine demo [--topic TEXT] [--db FILE] [--machines DIR] [--json]';

const DEFAULT_TOPIC = 'durable execution for AI agents';

/**
 * What the studio (or anything else) attaches to a demo: called with the live store and runtime
 * before the run starts; may return a function that `demo` awaits at the end (e.g. to keep
 * serving). This is the seam for `startServer({ store, runtime, port })` from @spine/server.
 */
export type DemoAttachment = (services: { store: SqliteStore; runtime: Runtime }) => Promise<(() => Promise<void>) | void>;

/** `spine demo`: runs the report pipeline once, on the configured provider or, without one, on a scripted server. */
export function demo(args: string[]): Promise<number> {
  return runDemo(args);
}

/**
 * Runs the demo. Without a provider configured, model calls go to a scripted Chat Completions
 * server started in this process (`<machines>/scriptedModel.ts` holds its script); the demo
 * says so plainly, since that server is not a model.
 */
export async function runDemo(args: string[], options: { attach?: DemoAttachment } = {}): Promise<number> {
  const { values, positionals } = parse(args, { ...dbOptions, topic: { type: 'string' } }, usage);
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const machinesDir = resolve(values.machines ?? 'machines');
  if (!existsSync(machinesDir)) throw new CliError(`machine directory '${values.machines ?? 'machines'}' does not exist (set it with --machines DIR)`);
  const say = (line: string) => process.stdout.write(values.json ? '' : `${line}\n`);

  // Loading the machines registers tsx's hooks, so the demo script (TypeScript) can be imported next.
  const registry = await loadMachines(machinesDir);
  registry.definition('supervisor');

  let server: ScriptedModelServer | undefined;
  const kind = providerKindOf(process.env);
  if (kind === undefined) {
    const scriptFile = join(machinesDir, 'scriptedModel.ts');
    if (!existsSync(scriptFile)) {
      throw new CliError(
        `no model provider is configured and ${scriptFile} (the offline demo's script) does not exist; set OPENAI_BASE_URL / OPENAI_API_KEY or ANTHROPIC_API_KEY`,
      );
    }
    const { pipelineScript } = (await import(pathToFileURL(scriptFile).href)) as { pipelineScript?: () => Script };
    if (typeof pipelineScript !== 'function') throw new CliError(`${scriptFile} must export pipelineScript()`);
    server = await startScriptedModelServer({ script: pipelineScript(), latencyMs: 40 });
    process.env['OPENAI_BASE_URL'] = server.url;
    process.env['SPINE_MODEL'] ??= 'scripted';
    say(`offline demo: model calls go to a scripted Chat Completions server on 127.0.0.1:${server.port} — not a model.`);
    say('  It answers by fixed rules (machines/scriptedModel.ts); point Spine at a real provider with OPENAI_BASE_URL / OPENAI_API_KEY or ANTHROPIC_API_KEY.');
  } else {
    const where = kind === 'anthropic' ? 'Anthropic (ANTHROPIC_API_KEY)' : `the OpenAI-compatible endpoint at ${process.env['OPENAI_BASE_URL']?.trim() || 'https://api.openai.com/v1'}`;
    say(`demo: model calls go to ${where}; they may cost money (the run's budget is 1 USD by default).`);
  }

  const db = values.db ?? join('.spine', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.db`);
  mkdirSync(resolve(db, '..'), { recursive: true });
  const store = await openStore(db);
  const runtime = createRuntime({ store, machines: registry });
  let detach: (() => Promise<void>) | void = undefined;
  try {
    detach = await options.attach?.({ store, runtime });
    await runtime.start();
    const topic = values.topic ?? DEFAULT_TOPIC;
    const { runId } = await runtime.startRun('supervisor', { input: { topic } });
    say(`run ${runId}: "${topic}" (database ${db})`);
    const outcome = await runtime.waitForRun(runId, { horizonMs: 300_000 });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ outcome, db, scripted: server !== undefined, show: JSON.parse(await showRun(store, runId, { json: true })) })}\n`);
    } else {
      say(`result: ${JSON.stringify(outcome.status === 'done' ? outcome.output : outcome, null, 2)}`);
      say('');
      say(await showRun(store, runId, { json: false }));
      say('');
      say(`again: spine show ${runId} --db ${db}`);
    }
    await detach?.();
    const published = outcome.status === 'done' && (outcome.output as { status?: string } | undefined)?.status === 'published';
    return published ? EXIT.done : EXIT.failed;
  } finally {
    await runtime.stop();
    await store.close();
    await server?.close();
  }
}
