import { afterEach, describe, expect, it } from 'vitest';
import { startPipelineHost, type PipelineHost } from '../test/fixtures-pipeline/harness.js';

const hosts: PipelineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

describe('the report pipeline', () => {
  it('researches, drafts, revises a rejected draft once, and publishes', async () => {
    const host = await startPipelineHost();
    hosts.push(host);
    const { runId } = await host.runtime.startRun('supervisor', { input: { topic: 'durable execution for AI agents' } });
    const outcome = await host.runtime.waitForRun(runId);
    console.log(JSON.stringify(outcome, null, 2));
    const journal = await host.journal(runId);
    console.log(journal.map((e) => `${e.src} ${e.agent} ${e.decision} ${JSON.stringify(e.usage)}`).join('\n'));
    expect(outcome).toMatchObject({ status: 'done', output: { status: 'published', revisions: 1 } });
  });
});
