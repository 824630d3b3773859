import { defineTool } from '@spine/llm';
import type { ScriptRule } from '@spine/scripted-model';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipelineScript } from '../machines/scriptedModel.js';
import { startPipelineHost, type PipelineHost } from './fixtures-pipeline/harness.js';

// One test per row of the retry table (DESIGN.md), each against a fault of the scripted Chat
// Completions server, run through the durable host: the assertions read the job journal, where
// the model activity records the decision it took for every attempt.

const WRITER = 'You are the writer agent';
const VERIFIER = 'You are the verifier agent';
const TOPIC = { topic: 'durable execution for AI agents' };

const hosts: PipelineHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

async function host(options: Parameters<typeof startPipelineHost>[0] & { before?: ScriptRule[] } = {}) {
  const { before = [], ...rest } = options;
  const started = await startPipelineHost({ ...rest, server: { script: [...before, ...pipelineScript()], ...rest.server } });
  hosts.push(started);
  return started;
}

type Entry = Record<string, any> & { job: string; src: string };

/** Journal entries of the first job of an activity, in attempt order. */
async function firstJob(h: PipelineHost, runId: string, src: string): Promise<Entry[]> {
  const journal = (await h.journal(runId)) as Entry[];
  const key = journal.find((e) => e.src === src)?.job;
  return journal.filter((e) => e.job === key);
}

function requestsWith(h: PipelineHost, keyPrefix: string) {
  return h.server.requests.filter((r) => r.idempotencyKey?.startsWith(keyPrefix));
}

describe('the retry table, row by row, through the durable host', () => {
  it('waits the retry-after of a 429, then sends the same request again with the same idempotency key', async () => {
    const h = await host({ before: [{ match: { system: WRITER }, times: 1, fault: { kind: 'rate_limit', retryAfterSeconds: 0.3 } }] });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'draft');
    expect(entries.map((e) => e.decision)).toEqual(['retry', 'ok']);
    expect(entries[0]).toMatchObject({ failure: { kind: 'rate_limit', status: 429 }, retryAfterMs: 300, outcome: 'retry' });
    expect(entries[0]!.delayMs).toBeGreaterThanOrEqual(300);
    expect(entries[0]!.delayMs).toBeLessThanOrEqual(330); // retry-after plus at most 10% jitter
    expect(entries[1]!.startedAt - entries[0]!.startedAt).toBeGreaterThanOrEqual(300);
    const sent = requestsWith(h, entries[0]!.idempotencyKey);
    expect(sent.map((r) => r.outcome)).toEqual(['rate_limit', 'ok']);
    expect(new Set(sent.map((r) => r.idempotencyKey))).toEqual(new Set([entries[0]!.idempotencyKey]));
  });

  it('keeps a rate-limit wait across a restart: the call is sent again when the wait ends, not a whole wait later', async () => {
    const h = await host({ before: [{ match: { system: WRITER }, times: 1, fault: { kind: 'rate_limit', retryAfterSeconds: 1.5 } }] });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    await expect.poll(async () => (await firstJob(h, runId, 'draft')).length, { timeout: 5_000 }).toBe(1);
    let restartedAt = 0;
    await h.restart({
      beforeStart: async () => {
        await new Promise((resolve) => setTimeout(resolve, 500)); // the process is "down" for half a second
        restartedAt = Date.now();
      },
    });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const [waited, retried] = await firstJob(h, runId, 'draft');
    expect(waited!.decision).toBe('retry');
    const resumedAfter = retried!.startedAt - restartedAt;
    expect(retried!.startedAt - waited!.startedAt).toBeGreaterThanOrEqual(1500);
    expect(resumedAfter).toBeLessThan(1500); // the wait went on while the host was down
    expect(retried!.host).not.toBe(waited!.host);
  });

  it('retries 5xx answers and a cut-off body with jittered back-off, counting them against the provider breaker', async () => {
    const h = await host({
      before: [
        { match: { system: VERIFIER }, times: 1, fault: { kind: 'server_error' } },
        { match: { system: VERIFIER }, times: 1, fault: { kind: 'unavailable' } },
        { match: { system: VERIFIER }, times: 1, fault: { kind: 'malformed' } },
      ],
    });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'judge');
    expect(entries.map((e) => e.decision)).toEqual(['retry', 'retry', 'retry', 'ok']);
    expect(entries.slice(0, 3).map((e) => e.failure.kind)).toEqual(['transient', 'transient', 'transient']);
    expect(entries.slice(0, 2).map((e) => e.failure.status)).toEqual([500, 503]);
    // Full jitter under a ceiling that doubles per attempt (5 ms, 10 ms, 20 ms in the test policies).
    entries.slice(0, 3).forEach((e, i) => expect(e.delayMs).toBeLessThanOrEqual(5 * 2 ** i));
    expect(entries.map((e) => e.breaker.consecutiveFailures)).toEqual([1, 2, 3, 0]);
  });

  it('opens the provider breaker after repeated transient failures and lets one probe through after the cool-down', async () => {
    const h = await host({
      llm: { breaker: { failureThreshold: 2, coolDownMs: 200 } },
      before: [{ match: { system: WRITER }, times: 2, fault: { kind: 'unavailable' } }],
    });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'draft');
    expect(entries.map((e) => e.decision)).toEqual(['retry', 'retry', 'circuit_open', 'ok']);
    expect(entries.map((e) => e.breaker.state)).toEqual(['closed', 'open', 'open', 'closed']);
    expect(entries[2]!.delayMs).toBeGreaterThan(0);
    expect(entries[3]!.startedAt - entries[1]!.startedAt).toBeGreaterThanOrEqual(190);
    // The open breaker refused the third attempt without sending it.
    expect(requestsWith(h, entries[0]!.idempotencyKey).map((r) => r.outcome)).toEqual(['unavailable', 'unavailable', 'ok']);
  });

  it('retries a call that stalls past its timeout', async () => {
    const h = await host({
      llm: { timeoutMs: 300 },
      server: { stallMs: 2_000 },
      before: [{ match: { system: WRITER }, times: 1, fault: { kind: 'stall' } }],
    });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'draft');
    expect(entries.map((e) => e.decision)).toEqual(['retry', 'ok']);
    expect(entries[0]!.failure.kind).toBe('timeout');
  });

  it('fails fast on a bad request: one call, no retry, and the run ends failed with the provider message', async () => {
    const h = await host({ before: [{ match: { system: WRITER }, fault: { kind: 'bad_request', message: 'Unknown parameter: temperature_x.' } }] });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    const outcome = await h.finish(runId);
    expect(outcome).toMatchObject({ status: 'error', output: { status: 'failed' } });
    expect((outcome as { output: { reason: string } }).output.reason).toMatch(/Not retried \(bad_request\).*Unknown parameter: temperature_x/);
    const entries = await firstJob(h, runId, 'draft');
    expect(entries.map((e) => e.decision)).toEqual(['fail']);
    expect(entries[0]).toMatchObject({ outcome: 'failed', failure: { kind: 'bad_request', status: 400 } });
    expect(requestsWith(h, entries[0]!.idempotencyKey)).toHaveLength(1);
    expect(h.server.requests.some((r) => JSON.stringify(r.body).includes(VERIFIER))).toBe(false);
  });

  it('shrinks an overflowing conversation, dropping the oldest turns, and calls again', async () => {
    const h = await host({ before: [{ match: { system: WRITER }, times: 1, fault: { kind: 'context_length' } }] });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'draft');
    expect(entries.map((e) => e.decision)).toEqual(['shrink', 'ok']);
    expect(entries[0]!.failure.kind).toBe('context_overflow');
    expect(entries[0]!.shrink.droppedMessages).toBeGreaterThan(0);
    expect(entries[1]!.idempotencyKey).toBe(`${entries[0]!.idempotencyKey}:shrink:1`);
    const chatOf = (e: Entry) => h.server.requests.find((r) => r.idempotencyKey === e.idempotencyKey)!.chat!;
    const [overflowed, shrunk] = [chatOf(entries[0]!), chatOf(entries[1]!)];
    const users = (chat: ReturnType<typeof chatOf>) => chat.messages.filter((m) => m.role === 'user').length;
    expect(users(shrunk)).toBeLessThan(users(overflowed));
    expect(JSON.stringify(shrunk.messages)).toMatch(/earlier messages were omitted to fit the context window/);
    expect(shrunk.messages.at(-1)).toEqual(overflowed.messages.at(-1)); // the latest turn is kept
  });

  it('re-asks an answer that misses its schema with the failing field, then accepts the corrected answer', async () => {
    const h = await host({ before: [{ match: { system: VERIFIER }, times: 1, reply: { json: { approved: 'yes', score: 8, issues: [] } } }] });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'judge');
    expect(entries.map((e) => e.decision)).toEqual(['reask', 'ok']);
    expect(entries[0]!.reask.issues.map((i: { path: string }) => i.path)).toEqual(['approved']);
    expect(entries[0]!.usage.outputTokens).toBeGreaterThan(0); // the wrong answer was paid for and journaled
    const reasked = h.server.requests.find((r) => r.idempotencyKey === `${entries[0]!.idempotencyKey}:reask:1`)!.chat!;
    const last = reasked.messages.at(-1)!;
    expect(last.role).toBe('user');
    expect(String(last.content)).toMatch(/did not match the required format:\n- approved: /);
    expect(reasked.messages.at(-2)).toMatchObject({ role: 'assistant', content: '{"approved":"yes","score":8,"issues":[]}' });
  });

  it('retries a failing tool, then disables it for the run and tells the model, which goes on without it', async () => {
    const calls: string[] = [];
    const search = defineTool({
      name: 'search',
      description: 'Searches (always fails in this test).',
      input: z.object({ query: z.string() }),
      output: z.unknown(),
      run: (_input, { idempotencyKey }) => {
        calls.push(idempotencyKey);
        throw new Error('search backend is down');
      },
    });
    const h = await host({ search });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const entries = await firstJob(h, runId, 'useTool');
    expect(entries.map((e) => e.decision)).toEqual(['retry', 'retry', 'disable']);
    expect(entries.map((e) => e.breaker.name)).toEqual(['tool:search', 'tool:search', 'tool:search']);
    expect(new Set(calls)).toEqual(new Set([entries[0]!.job])); // every retry carried the same idempotency key
    expect(calls).toHaveLength(3);
    const researcherCalls = h.server.requests.filter((r) => JSON.stringify(r.body).includes('You are the researcher agent'));
    const after = researcherCalls.at(-1)!.chat!;
    expect(after.tools ?? []).toEqual([]); // the disabled tool is no longer offered
    expect(JSON.stringify(after.messages)).toMatch(/Tool \\"search\\" failed 3 times .* is disabled for the rest of this run/);
  });

  it('runs each of several tool calls of one model turn as its own activity, with its own idempotency key', async () => {
    const h = await host({
      before: [
        {
          match: { system: 'You are the researcher agent', hasTools: true },
          times: 1,
          reply: { toolCalls: [{ name: 'search', arguments: { query: 'idempotency key' } }, { name: 'search', arguments: { query: 'circuit breaker' } }] },
        },
      ],
    });
    const { runId } = await h.runtime.startRun('supervisor', { input: TOPIC });
    expect(await h.finish(runId)).toMatchObject({ status: 'done', output: { status: 'published' } });
    const tools = (await h.jobs(runId)).filter((j) => j.src === 'useTool');
    expect(tools.map((j) => j.status)).toEqual(['done', 'done']);
    expect(new Set(tools.map((j) => j.key)).size).toBe(2);
    const answered = h.server.requests.find((r) => r.chat?.messages.filter((m) => m.role === 'tool').length === 2);
    expect(answered).toBeDefined();
  });
});
