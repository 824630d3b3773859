import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { providerKindOf } from '@spine/llm';
import { createRuntime, type ApprovalRecord, type RunOutcome, type Runtime, type Store } from '@spine/runtime';
import { startScriptedModelServer, type Script, type ScriptedModelServer } from '@spine/scripted-model';
import { createInterface } from 'node:readline/promises';
import { userInfo } from 'node:os';
import type { SpineServer } from '@spine/server';
import { dbOptions, dbPath, intArg, parse } from '../args.js';
import { CliError, EXIT } from '../CliError.js';
import { loadMachines } from '../loadMachines.js';
import { isPostgresUrl, openStore } from '../openStore.js';
import { restoreBreakers } from '../restoreBreakers.js';
import { startStudio } from '../startStudio.js';
import { bundledStudioDir } from '../studioDir.js';
import { help } from '../help.js';
import { showRun } from './show.js';

const usage = 'spine demo [--topic TEXT] [--serve] [--port N] [--approve ask|auto|never] [--db FILE] [--machines DIR] [--json]';

type ApproveMode = 'ask' | 'auto' | 'never' | 'studio';

const DEFAULT_TOPIC = 'durable execution for AI agents';

/**
 * What the studio (or anything else) attaches to a demo: called with the live store and runtime
 * before the run starts; may return a function that `demo` awaits at the end (e.g. to keep
 * serving). This is the seam for `startServer({ store, runtime, port })` from @spine/server.
 */
export type DemoAttachment = (services: { store: Store; runtime: Runtime }) => Promise<(() => Promise<void>) | void>;

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
  const { values, positionals } = parse(
    args,
    { ...dbOptions, topic: { type: 'string' }, serve: { type: 'boolean', default: false }, port: { type: 'string' }, approve: { type: 'string' } },
    usage,
  );
  if (values.help) return help(usage);
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  const approveMode = approveModeOf(values.approve, values.serve);
  const port = intArg(values.port, '--port', 4321);
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
    // With the studio open, answers come slower so a newcomer can watch the states change.
    server = await startScriptedModelServer({ script: pipelineScript(), latencyMs: values.serve ? 700 : 40 });
    process.env['OPENAI_BASE_URL'] = server.url;
    process.env['SPINE_MODEL'] ??= 'scripted';
    say(`offline demo: model calls go to a scripted Chat Completions server on 127.0.0.1:${server.port} — not a model.`);
    say('  It answers by fixed rules (machines/scriptedModel.ts); point Spine at a real provider with OPENAI_BASE_URL / OPENAI_API_KEY or ANTHROPIC_API_KEY.');
  } else {
    const where = kind === 'anthropic' ? 'Anthropic (ANTHROPIC_API_KEY)' : `the OpenAI-compatible endpoint at ${process.env['OPENAI_BASE_URL']?.trim() || 'https://api.openai.com/v1'}`;
    say(`demo: model calls go to ${where}; they may cost money (the run's budget is 1 USD by default).`);
  }

  // The database every other command reads by default, so `npx spine runs` sees the demo's runs.
  const db = dbPath(values.db);
  if (!isPostgresUrl(db)) mkdirSync(resolve(db, '..'), { recursive: true });
  const store = await openStore(db);
  const runtime = createRuntime({ store, machines: registry });
  let detach: (() => Promise<void>) | void = undefined;
  try {
    detach = await options.attach?.({ store, runtime });
    let studio: SpineServer | undefined;
    if (values.serve) {
      studio = await startStudio({ store, runtime, port, machinesDir, ...bundledStudioDir() });
      say(`studio: ${studio.url}  (open it in a browser: the run moves through its states live)`);
    }
    await restoreBreakers(store); // a provider failing before this process started stays open
    await runtime.start();
    const topic = values.topic ?? DEFAULT_TOPIC;
    const { runId } = await runtime.startRun('supervisor', { input: { topic } });
    say(`run ${runId}: "${topic}" (database ${db}${values.db ? '' : ', the default: `npx spine runs` lists it'})`);
    let outcome = await runtime.waitForRun(runId, { horizonMs: 300_000 });
    // Publishing is medium risk: the run stops until a person approves, edits or declines.
    while (outcome.status === 'waiting' && outcome.state === 'publishing' && approveMode !== 'never') {
      const pending = (await store.listApprovals({ runId, status: ['pending'] }))[0];
      if (pending) say(`\napproval needed: ${describeApproval(pending)}`);
      if (approveMode === 'studio') {
        say(`  approve or decline it in the studio's Approvals inbox (${studio!.url}#/approvals), or: spine approve ${runId} --db ${db}`);
        outcome = await waitUntilDecided(runtime, runId);
        continue;
      }
      const approve = approveMode === 'auto' ? true : await askYesNo('  publish it? [y/N] ');
      if (approveMode === 'auto') say('  approving as "demo-reviewer" (--approve auto; use --approve ask to decide yourself)');
      const decided = await runtime.decide({ runId }, approve ? { decision: 'approve', by: 'demo-reviewer' } : { decision: 'reject', by: userName(), reason: 'declined in the demo' });
      if (decided.status !== 'applied') throw new CliError(`the decision was refused: ${decided.reason}`, EXIT.failed);
      outcome = await runtime.waitForRun(runId, { horizonMs: 300_000 });
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ outcome, db, scripted: server !== undefined, show: JSON.parse(await showRun(store, runId, { json: true })) })}\n`);
    } else {
      say(`result: ${JSON.stringify(outcome.status === 'done' ? outcome.output : outcome, null, 2)}`);
      say('');
      say(await showRun(store, runId, { json: false }));
      say('');
      say(`again: spine show ${runId} --db ${db}`);
    }
    if (outcome.status === 'waiting') say(`the run is waiting for a decision: spine approve ${runId} --db ${db}`);
    await detach?.();
    if (studio) {
      say(`\nstudio still running at ${studio.url} — press Ctrl+C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await studio.close();
    }
    if (outcome.status === 'waiting') return EXIT.waiting;
    const published = outcome.status === 'done' && (outcome.output as { status?: string } | undefined)?.status === 'published';
    return published ? EXIT.done : EXIT.failed;
  } finally {
    await runtime.stop();
    await store.close();
    await server?.close();
  }
}

function approveModeOf(value: string | undefined, serve: boolean): ApproveMode {
  if (value === undefined) return serve ? 'studio' : process.stdin.isTTY ? 'ask' : 'auto';
  if (value === 'ask' || value === 'auto' || value === 'never') return value;
  throw new CliError(`--approve must be ask, auto or never, got '${value}'\nusage: ${usage}`);
}

function describeApproval(approval: ApprovalRecord): string {
  const proposal = JSON.stringify(JSON.parse(approval.proposal) as unknown);
  return `${approval.src} (risk ${approval.tier}) proposes ${proposal.length > 160 ? `${proposal.slice(0, 157)}...` : proposal}`;
}

async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Waits until someone (the studio, `spine approve`) decides and the run moves on. */
async function waitUntilDecided(runtime: Runtime, runId: string): Promise<RunOutcome> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const outcome = await runtime.waitForRun(runId, { horizonMs: 300_000 });
    if (outcome.status !== 'waiting' || outcome.state !== 'publishing') return outcome;
    const pending = await runtime.store.listApprovals({ runId, status: ['pending'] });
    if (!pending.length) return runtime.waitForRun(runId, { horizonMs: 300_000 });
  }
}

function userName(): string {
  return process.env.USER ?? userInfo().username;
}
