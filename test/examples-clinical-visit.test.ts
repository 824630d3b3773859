import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@spine/llm';
import { startScriptedModelServer, type ScriptedModelServer } from '@spine/scripted-model';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptedTranscriber, VISIT, visitScript } from '../examples/clinical-visit/scripted.js';
import { spawnExample } from './support/spawnExample.js';

// examples/clinical-visit run as its README says, killed with SIGKILL at seeded moments (after
// the n-th transcription or model request reached the server) and started again until it
// finishes. CI runs one seed; SPINE_EXAMPLE_SEEDS=N runs more.

const SEEDS = Number(process.env.SPINE_EXAMPLE_SEEDS ?? 1);
const SLICES = 4;

let server: ScriptedModelServer;
beforeAll(async () => {
  server = await startScriptedModelServer({ script: visitScript(), transcribe: scriptedTranscriber });
});
afterAll(() => server.close());

/** Every request the server received for a key: transcriptions and chat completions alike. */
function countsByKey(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of [...server.requests, ...server.transcriptions]) counts.set(r.idempotencyKey ?? '', (counts.get(r.idempotencyKey ?? '') ?? 0) + 1);
  return counts;
}

/** Keys of the activities the database has journaled as done: calls that finished and must never be paid again. */
function doneKeys(db: string): string[] {
  if (!existsSync(db)) return [];
  const sqlite = new Database(db, { readonly: true });
  try {
    return (sqlite.prepare("SELECT key FROM jobs WHERE status = 'done'").all() as { key: string }[]).map((r) => r.key);
  } finally {
    sqlite.close();
  }
}

describe('examples/clinical-visit', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`loses no slice and re-pays no finished call when killed at seeded moments (seed ${seed})`, async () => {
      server.reset();
      const random = seededRandom(seed);
      const dir = mkdtempSync(join(tmpdir(), 'spine-visit-'));
      const db = join(dir, 'visit.db');
      const args = ['--db', db, '--run-id', 'visit-crash', '--slices', String(SLICES), '--quiet'];
      const env = { OPENAI_BASE_URL: server.url, SPINE_MODEL: 'scripted', OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined };
      // A clean run makes 4 transcription requests, then 4 summary and 1 report chat requests. Kill once
      // while transcriptions are under way, once after the n-th summary request (its slice's
      // transcription is journaled by then: a finished call that must not be paid again).
      const paid = new Map<string, number>();
      let kills = 0;
      const [t, c] = [1 + Math.floor(random() * SLICES), 1 + Math.floor(random() * SLICES)];
      const points = [() => server.transcriptions.length >= t, () => server.requests.length >= c];
      for (const point of points) {
        const run = await spawnExample('clinical-visit', args, { env, killWhen: point });
        if (run.signal !== 'SIGKILL') break; // finished before the kill point
        kills++;
        const counts = countsByKey();
        for (const key of doneKeys(db)) paid.set(key, counts.get(key) ?? 0);
      }
      const last = await spawnExample('clinical-visit', args, { env });
      expect(last.code, last.stderr).toBe(0);
      expect(kills).toBeGreaterThan(0);

      const sqlite = new Database(db, { readonly: true });
      const output = JSON.parse((sqlite.prepare("SELECT output FROM actors WHERE id = 'visit-crash'").get() as { output: string }).output);
      const segments = sqlite.prepare("SELECT id, status FROM actors WHERE machine = 'segment' ORDER BY id").all() as { id: string; status: string }[];
      sqlite.close();
      // No slice lost: one child agent per slice, each done, each summary in the report, in order.
      expect(segments.map((s) => s.status)).toEqual(Array(SLICES).fill('done'));
      expect(output.summaries).toHaveLength(SLICES);
      output.summaries.forEach((summary: string, i: number) => expect(VISIT[i]).toContain(summary));
      expect(output.report.summary).toContain(output.summaries[SLICES - 1]);
      // No finished call paid again: every call the database had journaled as done at a kill was never requested after it.
      const final = countsByKey();
      for (const [key, count] of paid) expect(final.get(key) ?? 0, key).toBe(count);
      expect([...paid.values()].filter((n) => n > 0).length).toBeGreaterThan(0);
      // At most one re-execution per call in flight at a kill.
      for (const [key, count] of final) expect(count, key).toBeLessThanOrEqual(1 + kills);
      expect(server.transcriptions.filter((t) => t.outcome === 'ok').length).toBeGreaterThanOrEqual(SLICES);
    }, 120_000);
  }
});
