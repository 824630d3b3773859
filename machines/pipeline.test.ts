import { MachineRegistry, roundTripSnapshot } from '@spine/runtime';
import { validateMachineConfig } from '@spine/runtime/editing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipelineHost, type PipelineHost } from '../test/fixtures-pipeline/harness.js';
import { agentModels } from './options.js';
import { pipelineMachines, pipelineNames } from './pipeline.js';
import { supervisorContext } from './supervisor.js';

// One full run (with a revision and a budget escalation, so most states are visited), then every
// snapshot of every machine is round-tripped: persist -> JSON -> restore -> persist, unchanged.

let host: PipelineHost;
const runs: string[] = [];

beforeAll(async () => {
  host = await startPipelineHost();
  const published = await host.runtime.startRun('supervisor', { input: { topic: 'durable execution for AI agents' } });
  expect(await host.finish(published.runId)).toMatchObject({ status: 'done', output: { status: 'published', revisions: 1 } });
  const escalated = await host.runtime.startRun('supervisor', { input: { topic: 'circuit breakers', budget: { maxTokens: 4000 }, onBudgetExceeded: 'escalate' } });
  expect(await host.runtime.waitForRun(escalated.runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'needsHuman' });
  await host.runtime.send(escalated.runId, { type: 'run.abandoned', reason: 'not worth more tokens' });
  expect(await host.finish(escalated.runId)).toMatchObject({ status: 'error', error: 'not worth more tokens', output: { status: 'stopped', reason: 'not worth more tokens' } });
  runs.push(published.runId, escalated.runId);
});

afterAll(async () => {
  await host?.close();
});

describe('the pipeline machines', () => {
  const registry = new MachineRegistry();
  for (const definition of pipelineMachines()) registry.register(definition);

  it.each(pipelineNames)('%s round-trips every snapshot it persisted through JSON unchanged, and its context matches its schema', async (name) => {
    const { machine, definition } = registry.machine(name);
    let checked = 0;
    for (const runId of runs) {
      for (const row of await host.store.runHistory(runId)) {
        if ((await host.store.getActor(row.actorId))!.machine !== name) continue;
        expect(roundTripSnapshot(machine, row.snapshot)).toBe(row.snapshot);
        definition.schemas.context!.parse(JSON.parse(row.snapshot).context);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('accepts only the events each machine names, each with a schema', () => {
    const accepted = Object.fromEntries(pipelineNames.map((name) => [name, Object.keys(registry.definition(name).schemas.events ?? {}).sort()]));
    expect(accepted).toEqual({
      supervisor: ['agent.failed', 'budget.raised', 'draft.ready', 'notes.ready', 'run.abandoned', 'verdict.given'],
      researcher: ['research.requested'],
      writer: ['draft.requested'],
      verifier: ['verification.requested'],
    });
  });

  it.each(pipelineNames)("%s passes the studio editor's strict checks (no unknown events, no dead ends)", (name) => {
    const definition = registry.definition(name);
    expect(validateMachineConfig(definition.config, definition, { machines: pipelineNames, strict: true })).toEqual([]);
  });

  it('starts a run from a topic alone, with the default budget split among the agents', () => {
    const context = supervisorContext.parse(registry.definition('supervisor').context!({ topic: 't' }));
    expect(context.budget).toEqual({ maxTokens: 200_000, maxUsd: 1 });
    expect(context.shares.writer).toEqual({ maxTokens: 80_000, maxUsd: 0.4 });
    expect(Object.keys(agentModels)).toEqual(['researcher', 'writer', 'verifier']);
  });
});
