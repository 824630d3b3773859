import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLlmEnvironment,
  retryPolicies,
  seededRandom,
  type LlmEnvironment,
  type LlmEnvironmentOptions,
  type Tool,
} from '@spine/llm';
import { createRuntime, type JobRecord, type RunOutcome, type Runtime } from '@spine/runtime';
import { startScriptedModelServer, type ScriptedModelServer, type ScriptedModelServerOptions } from '@spine/scripted-model';
import { SqliteStore } from '@spine/store-sqlite';
import { pipelineMachines } from '../../machines/pipeline.js';
import { pipelineScript } from '../../machines/scriptedModel.js';
import { publishTool } from '../../machines/tools.js';

/** Back-off of a few milliseconds, so tests that walk the retry table stay fast (a `retry-after` is still honoured). */
export const fastPolicies = retryPolicies({
  rate_limit: { baseDelayMs: 5, maxDelayMs: 5_000 },
  transient: { baseDelayMs: 5, maxDelayMs: 50 },
  timeout: { baseDelayMs: 5, maxDelayMs: 50 },
});

/** A running pipeline: the scripted Chat Completions server, a real SQLite file, a durable host. */
export interface PipelineHost {
  server: ScriptedModelServer;
  llm: LlmEnvironment;
  store: SqliteStore;
  runtime: Runtime;
  dbPath: string;
  publishDir: string;
  /** Every job of a run (all its agents), oldest first. */
  jobs(runId: string): Promise<JobRecord[]>;
  /** Every journal entry of a run's jobs. */
  journal(runId: string): Promise<(Record<string, unknown> & { job: string; src: string })[]>;
  /**
   * Waits for a run to end. The pipeline's publish is medium risk: when the run stops for
   * that approval, a reviewer approves it (as a person would in the studio or with
   * `spine approve`) and the wait goes on. Other waits are returned as they are.
   */
  finish(runId: string, options?: Parameters<Runtime['waitForRun']>[1]): Promise<RunOutcome>;
  /** Runs whose publish this harness approved. */
  approved: string[];
  /** Stops the host (running calls are cut off) and opens a new one on the same database, as a restart does. */
  restart(options?: { beforeStart?: () => Promise<void> }): Promise<void>;
  close(): Promise<void>;
}

/** Starts the pipeline on a scripted server; pass a script, faults, server options and llm options to vary it. */
export async function startPipelineHost(
  options: {
    server?: ScriptedModelServerOptions;
    llm?: Omit<LlmEnvironmentOptions, 'env'>;
    search?: Tool;
    publish?: Tool;
  } = {},
): Promise<PipelineHost> {
  const server = await startScriptedModelServer({ script: pipelineScript(), ...options.server });
  const llm = createLlmEnvironment({
    env: { OPENAI_BASE_URL: server.url, SPINE_MODEL: 'scripted' },
    policies: fastPolicies,
    random: seededRandom(7),
    timeoutMs: 2_000,
    toolRetry: { baseDelayMs: 5, maxDelayMs: 20 },
    breaker: { coolDownMs: 50 },
    onProvider: () => {},
    ...options.llm,
  });
  const dir = mkdtempSync(join(tmpdir(), 'spine-pipeline-'));
  const dbPath = join(dir, 'spine.db');
  const publishDir = join(dir, 'published');
  const machines = pipelineMachines({ llm, publish: options.publish ?? publishTool({ dir: publishDir }), ...(options.search ? { search: options.search } : {}) });
  const open = async () => {
    const store = await SqliteStore.open(dbPath);
    const runtime = createRuntime({
      store,
      machines,
      pollIntervalMs: 10,
      onError: (error, where) => process.stderr.write(`host error at ${where}: ${error.message}\n`),
    });
    return { store, runtime };
  };
  const first = await open();
  await first.runtime.start();
  const host: PipelineHost = {
    server,
    llm,
    store: first.store,
    runtime: first.runtime,
    dbPath,
    publishDir,
    jobs: (runId) => host.store.listJobs({ runId }),
    approved: [],
    async finish(runId, waitOptions) {
      for (;;) {
        const outcome = await host.runtime.waitForRun(runId, waitOptions);
        if (outcome.status !== 'waiting' || outcome.state !== 'publishing') return outcome;
        const decided = await host.runtime.decide({ runId }, { decision: 'approve', by: 'reviewer' });
        if (decided.status !== 'applied') throw new Error(`the publish approval of ${runId} was refused: ${decided.reason}`);
        host.approved.push(runId);
      }
    },
    async journal(runId) {
      return (await host.jobs(runId)).flatMap((job) =>
        (JSON.parse(job.journal) as Record<string, unknown>[]).map((entry) => ({ ...entry, job: job.key, src: job.src })),
      );
    },
    async restart(restartOptions = {}) {
      await host.runtime.stop();
      await host.store.close();
      await restartOptions.beforeStart?.();
      const next = await open();
      host.store = next.store;
      host.runtime = next.runtime;
      await next.runtime.start();
    },
    async close() {
      await host.runtime.stop();
      await host.store.close();
      await server.close();
    },
  };
  return host;
}
