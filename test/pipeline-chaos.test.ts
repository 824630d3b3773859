import { readdirSync } from 'node:fs';
import { usageOf } from '@spine/llm';
import type { RunOutcome } from '@spine/runtime';
import type { FaultKind } from '@spine/scripted-model';
import { afterAll, describe, expect, it } from 'vitest';
import { startPipelineHost, type PipelineHost } from './fixtures-pipeline/harness.js';

// 100 pipeline runs in one host, on a scripted Chat Completions server that answers 30% of the
// calls with a fault drawn by a seeded PRNG: rate limits, 5xx, cut-off bodies, stalls past the
// client's timeout, context-length errors and bad requests. Every run must end (published, or
// failed / stopped with its reason), none may hang, and the ledger (the sum of the usage the
// activities journaled) must equal the usage the server reported.

const RUNS = Number(process.env.SPINE_CHAOS_RUNS ?? 100);
const SEED = Number(process.env.SPINE_CHAOS_SEED ?? 20_261_122);
const CONCURRENCY = 20;
const DEADLINE_MS = 50_000;
// Transient kinds are listed twice, so they are drawn more often than the fatal ones.
const KINDS: FaultKind[] = ['rate_limit', 'rate_limit', 'server_error', 'unavailable', 'malformed', 'stall', 'context_length', 'bad_request'];

let host: PipelineHost | undefined;
afterAll(async () => {
  await host?.close();
});

describe('chaos', () => {
  it(`ends all ${RUNS} runs with faults on 30% of calls, done or failed with a reason, and the ledger matches the server's usage`, { timeout: 90_000 }, async () => {
    host = await startPipelineHost({
      server: { faults: { rate: 0.3, seed: SEED, kinds: KINDS, retryAfterSeconds: 0 }, stallMs: 5_000 },
      // Generous next to the host's own latency under 100 concurrent runs: a timeout that fired on an
      // answer already sent would be a real, unjournaled cost (see the README's ledger notes).
      llm: { timeoutMs: 4_000, breaker: { coolDownMs: 300 } },
    });
    const h = host;
    const started = performance.now();
    const deadline = AbortSignal.timeout(DEADLINE_MS);
    const runIds: string[] = [];
    const outcomes: RunOutcome[] = [];
    // CONCURRENCY runs in flight at a time, a new one starting as soon as one ends.
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) {
          const i = next++;
          const { runId } = await h.runtime.startRun('supervisor', { input: { topic: `durable execution, part ${i}` } });
          runIds[i] = runId;
          outcomes[i] = await h.finish(runId, { horizonMs: DEADLINE_MS, signal: deadline });
        }
      }),
    );
    const wallMs = Math.round(performance.now() - started);

    // Every run ended, and says why when it did not publish.
    const ends: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    for (const outcome of outcomes) {
      expect(['done', 'error']).toContain(outcome.status);
      if (outcome.status === 'error') expect(outcome.error).toMatch(/\w/);
      const output = (outcome as { output?: { status: string; reason: string | null } }).output;
      if (!output) {
        ends['error'] = (ends['error'] ?? 0) + 1; // the run itself failed (no pipeline output)
        continue;
      }
      ends[output.status] = (ends[output.status] ?? 0) + 1;
      expect(outcome.status).toBe(output.status === 'published' ? 'done' : 'error');
      if (output.status === 'published') continue;
      expect(['failed', 'stopped', 'rejected']).toContain(output.status);
      expect(output.reason).toMatch(/\w/);
      const key = output.reason!.replace(/\(HTTP.*$|: (?:Rate|Provider|The|Network).*$/, '').slice(0, 70);
      reasons[key] = (reasons[key] ?? 0) + 1;
    }

    // The ledger: what the activities journaled equals what the server reported, token for token.
    let journaled = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0 };
    const journaledKeys = new Set<string>();
    const decisions: Record<string, number> = {};
    for (const runId of runIds) {
      for (const job of await h.jobs(runId)) {
        for (const entry of JSON.parse(job.journal) as Record<string, unknown>[]) {
          const usage = usageOf(entry);
          journaled = {
            inputTokens: journaled.inputTokens + usage.inputTokens,
            outputTokens: journaled.outputTokens + usage.outputTokens,
            cacheReadTokens: journaled.cacheReadTokens + usage.cacheReadTokens,
          };
          if (typeof entry['idempotencyKey'] === 'string' && entry['call'] === 'model') journaledKeys.add(entry['idempotencyKey']);
          if (typeof entry['decision'] === 'string') decisions[entry['decision']] = (decisions[entry['decision']] ?? 0) + 1;
        }
      }
    }
    const totals = h.server.totals();
    expect(journaled).toEqual({ inputTokens: totals.usage.prompt_tokens, outputTokens: totals.usage.completion_tokens, cacheReadTokens: totals.usage.cached_tokens });
    // Every answer the server completed was journaled by the call that received it.
    const unjournaled = h.server.requests.filter((r) => r.outcome === 'ok' && !journaledKeys.has(r.idempotencyKey ?? ''));
    expect(unjournaled).toEqual([]);
    // Every published run published exactly one file.
    expect(readdirSync(h.publishDir)).toHaveLength(ends['published'] ?? 0);

    const faults: Record<string, number> = {};
    for (const r of h.server.requests) if (r.outcome !== 'ok') faults[r.outcome] = (faults[r.outcome] ?? 0) + 1;
    process.stdout.write(
      `chaos: ${RUNS} runs in ${wallMs} ms; ends ${JSON.stringify(ends)}; ${totals.calls} calls, ${totals.faulted} faulted ${JSON.stringify(faults)}; ` +
        `decisions ${JSON.stringify(decisions)}; failure reasons ${JSON.stringify(reasons)}; ledger ${JSON.stringify(journaled)}\n`,
    );
    expect(totals.faulted / totals.calls).toBeGreaterThan(0.2);
    expect(ends['published'] ?? 0).toBeGreaterThan(RUNS / 3);
    expect(wallMs).toBeLessThan(DEADLINE_MS);
  });
});
