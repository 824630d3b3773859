import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '@spine/server';
import { SqliteStore } from '@spine/store-sqlite';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSpine, type SpineExit } from './support/spawnSpine.js';

// Approvals with the real `spine` process: killed with SIGKILL while a run waits for a
// person, restarted, then approved from another `spine` process.
const root = fileURLToPath(new URL('..', import.meta.url));
const machines = join(root, 'test/fixtures/approval-machines');

/** A publish endpoint: applies each idempotency key once, counts every raw call; can hold calls open. */
class PublishServer {
  readonly raw = new Map<string, number>();
  readonly applied = new Map<string, string>();
  hold: Promise<void> | undefined;
  onRequest: (() => void) | undefined;
  server!: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        this.raw.set(key, (this.raw.get(key) ?? 0) + 1);
        this.onRequest?.();
        void (this.hold ?? Promise.resolve()).then(() => {
          const { title, channel } = JSON.parse(body) as { title: string; channel: string };
          if (!this.applied.has(key)) this.applied.set(key, `https://example.test/${channel}/${encodeURIComponent(title)}`);
          if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: this.applied.get(key) }));
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/publish`;
  }
}

/** Runs `spine`; `killWhen` is polled and SIGKILLs the process once it returns true. */
function spine(args: string[], env: Record<string, string>, killWhen?: () => boolean): Promise<SpineExit> {
  return spawnSpine(args, { env, ...(killWhen ? { killWhen } : {}) });
}

function query<T>(db: string, sql: string, ...params: unknown[]): T[] {
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return d.prepare(sql).all(...params) as T[];
    } finally {
      d.close();
    }
  } catch {
    return []; // not created yet, or mid-migration
  }
}

const pendingApprovals = (db: string) => query<{ id: string; run_id: string; deadline_at: number | null }>(db, "SELECT id, run_id, deadline_at FROM approvals WHERE status = 'pending'");

describe('approvals with the real spine process', () => {
  const publish = new PublishServer();
  beforeAll(() => publish.start());
  afterAll(() => publish.server?.close());

  it('a run waiting for approval survives SIGKILL and a restart, then completes after `spine approve`, publishing exactly once', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'spine-approval-')), 'spine.db');
    const env = { SPINE_TEST_EFFECT_URL: publish.url, SPINE_SECRET: 'approval-suite-secret-123456' };
    const common = ['--db', db, '--machines', machines];

    // 1. The run reaches the medium-risk publish and waits; the process is killed while it waits.
    const first = await spine(['run', 'release', '--input', '{"title":"Spine 1.0"}', '--wait-timers', '3600', ...common], env, () => pendingApprovals(db).length > 0);
    expect(first.signal, first.stderr).toBe('SIGKILL');
    const [approval] = pendingApprovals(db);
    const runId = approval!.run_id;
    expect(publish.raw.size).toBe(0);

    // 2. Restarted: the approval is still there and the run still waits; nothing was published.
    const resumed = await spine(['resume', ...common, '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(3); // still waiting for a person
    expect(JSON.parse(resumed.stdout)).toMatchObject([{ runId, status: 'waiting', state: 'publishing' }]);
    const listed = await spine(['approvals', ...common, '--json'], env);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ id: approval!.id, runId, src: 'publish', tier: 'medium', status: 'pending', proposal: { title: 'Spine 1.0', channel: 'blog' }, rationale: { reasoning: expect.stringContaining('Three sources agree') } }]);
    expect(publish.raw.size).toBe(0);

    // 3. Approved with an edit; the approving process is killed in the middle of the publish call.
    let release!: () => void;
    publish.hold = new Promise((resolve) => (release = resolve));
    let calls = 0;
    publish.onRequest = () => calls++;
    const edit = JSON.stringify({ title: 'Spine 1.0 — durable agents', channel: 'news' });
    const killed = await spine(['approve', runId, '--as', 'ada', '--edit', edit, ...common], env, () => calls > 0);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    publish.onRequest = undefined;
    release();
    publish.hold = undefined;

    // 4. Restarted once more: the publish in flight runs again with the same key, and the run completes.
    const done = await spine(['resume', ...common, '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    const [outcome] = JSON.parse(done.stdout) as { status: string; output: { publication: { url: string } } }[];
    expect(outcome).toMatchObject({ status: 'done', output: { publication: { url: 'https://example.test/news/Spine%201.0%20%E2%80%94%20durable%20agents' } } });
    expect([...publish.applied.keys()]).toEqual([approval!.id.slice('approval:'.length)]);
    expect([...publish.raw.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2); // once per crash at most, same key
    expect(publish.applied.size).toBe(1);

    // The audit log of the run shows who approved what and when.
    const audit = await spine(['audit', '--run', runId, '--db', db, '--json'], env);
    const rows = JSON.parse(audit.stdout) as { kind: string; who: string; at: number; detail: Record<string, unknown> }[];
    expect(rows.map((r) => r.kind)).toEqual(['approval.requested', 'approval.edited', 'activity.logged']);
    expect(rows[1]).toMatchObject({ who: 'ada', detail: { src: 'publish', proposal: { title: 'Spine 1.0', channel: 'blog' }, editedInput: { title: 'Spine 1.0 — durable agents', channel: 'news' } } });
    const text = await spine(['audit', '--run', runId, '--db', db], env);
    expect(text.stdout).toMatch(/approval\.edited\s+ada/);
    expect((await spine(['audit', '--verify', '--db', db], env)).code).toBe(0);
  }, 60_000);

  it('a deadline that passes while the process is down escalates right after restart', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'spine-deadline-')), 'spine.db');
    const env = { SPINE_TEST_EFFECT_URL: publish.url, SPINE_SECRET: 'approval-suite-secret-123456' };
    const common = ['--db', db, '--machines', machines];
    const first = await spine(['run', 'urgent-release', '--input', '{"title":"Hotfix"}', '--wait-timers', '3600', ...common], env, () => pendingApprovals(db).length > 0);
    expect(first.signal).toBe('SIGKILL');
    const [approval] = pendingApprovals(db);
    // Down for longer than the 1.5 s deadline.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, approval!.deadline_at! - Date.now()) + 500));
    const restartedAt = Date.now();
    const resumed = await spine(['resume', ...common, '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(3); // still waiting for a person
    const [escalated] = query<{ at: number; who: string; detail: string }>(db, "SELECT at, who, detail FROM audit_log WHERE kind = 'approval.escalated'");
    expect(escalated).toMatchObject({ who: 'system' });
    expect(escalated!.at).toBeGreaterThanOrEqual(restartedAt);
    expect(escalated!.at - restartedAt).toBeLessThan(5_000); // right after restart, not at some later poll
    const [row] = query<{ escalated_at: number; status: string }>(db, 'SELECT escalated_at, status FROM approvals WHERE id = ?', approval!.id);
    expect(row).toMatchObject({ status: 'pending', escalated_at: escalated!.at });
    const [actor] = query<{ snapshot: string }>(db, 'SELECT snapshot FROM actors WHERE id = ?', approval!.run_id);
    expect(JSON.parse(actor!.snapshot).context.escalated).toBe(true);
    const listed = await spine(['approvals', '--db', db], env);
    expect(listed.stdout).toMatch(/ESCALATED/);
  }, 60_000);

  it('a forged or altered decision is refused and audited, and the run does not act on it', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'spine-forged-')), 'spine.db');
    const env = { SPINE_TEST_EFFECT_URL: publish.url };
    const common = ['--db', db, '--machines', machines];
    const before = publish.applied.size;
    const other = await spine(['run', 'release', '--input', '{"title":"Rejected"}', ...common, '--json'], env);
    const otherRun = (JSON.parse(other.stdout) as { runId: string }).runId;
    // The first decision makes the signing secret, once, next to the database, readable only by its owner.
    const rejected = await spine(['reject', otherRun, '--as', 'grace', '--reason', 'not today', ...common], env);
    expect(rejected.code, rejected.stderr).toBe(0);
    const { statSync } = await import('node:fs');
    expect(statSync(`${db}.secret`).mode & 0o777).toBe(0o600);
    // Through the store: a finished actor's row refers to its last history row for its snapshot.
    const reader = await SqliteStore.open(db, { readonly: true });
    const otherActor = await reader.getActor(otherRun).finally(() => reader.close());
    expect(otherActor!.status).toBe('done');
    expect(JSON.parse(otherActor!.snapshot!).context.error).toEqual({ kind: 'rejected', message: "grace rejected 'publish': not today." });

    const run = await spine(['run', 'release', '--input', '{"title":"Forgery"}', ...common, '--json'], env);
    expect(run.code, run.stderr).toBe(3);
    const { runId } = JSON.parse(run.stdout) as { runId: string };
    const [approval] = pendingApprovals(db);

    // A decision written straight into the database, signed with a guessed secret.
    const { createHmac } = await import('node:crypto');
    const { proposal } = query<{ proposal: string }>(db, 'SELECT proposal FROM approvals WHERE id = ?', approval!.id)[0]!;
    const { createHash } = await import('node:crypto');
    const payload = JSON.stringify({ approvalId: approval!.id, at: Date.now(), by: 'mallory', decision: 'approve', jobKey: approval!.id.slice('approval:'.length), nonce: 'n', proposalHash: createHash('sha256').update(proposal).digest('hex'), runId, v: 1 });
    // Written straight into the file (raw SQL on purpose), as someone holding it could.
    const writer = new Database(db);
    writer.prepare("INSERT INTO decisions (approval_id, payload, signature, status, created_at) VALUES (?, ?, ?, 'submitted', ?)").run(approval!.id, payload, createHmac('sha256', 'guessed').update(payload).digest('hex'), Date.now());
    writer.close();
    // Any host that starts verifies it before acting: refused, audited, nothing published.
    const resumed = await spine(['resume', ...common, '--json'], env);
    expect(JSON.parse(resumed.stdout)).toMatchObject([{ runId, status: 'waiting' }]);
    expect(publish.applied.size).toBe(before);
    const audit = JSON.parse((await spine(['audit', '--run', runId, '--db', db, '--json'], env)).stdout) as { kind: string; who: string; detail: Record<string, unknown> }[];
    expect(audit.find((r) => r.kind === 'decision.refused')).toMatchObject({ who: 'system', detail: { claimedBy: 'mallory', reason: expect.stringContaining('forged or altered') } });
    expect(pendingApprovals(db)).toHaveLength(1);

    // The genuine decision still goes through.
    const approved = await spine(['approve', runId, '--as', 'ada', ...common], env);
    expect(approved.code, approved.stderr).toBe(0);
    expect(publish.applied.size).toBe(before + 1);

    // Tampering with the audit log outside Spine is detected.
    const tamper = new Database(db);
    tamper.exec('DROP TRIGGER audit_log_no_update');
    tamper.prepare("UPDATE audit_log SET who = 'nobody' WHERE kind = 'approval.rejected'").run();
    tamper.close();
    const verify = await spine(['audit', '--verify', '--db', db], env);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/TAMPERED: row \d+ was altered/);
  }, 60_000);

  it('a fork from the studio asks a person again before its held activity runs, and a cancelled run closes its approval', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'spine-fork-cancel-')), 'spine.db');
    const env = { SPINE_TEST_EFFECT_URL: publish.url, SPINE_SECRET: 'approval-suite-secret-123456' };
    const common = ['--db', db, '--machines', machines];
    const run = await spine(['run', 'release', '--input', '{"title":"Fork me"}', ...common, '--json'], env);
    expect(run.code, run.stderr).toBe(3);
    const { runId } = JSON.parse(run.stdout) as { runId: string };
    const [approval] = JSON.parse((await spine(['approvals', ...common, '--json'], env)).stdout) as { id: string; jobKey: string; seq: number }[];

    // The studio's server on the same database, without machines: fork and cancel are store operations.
    const store = await SqliteStore.open(db);
    const server = await startServer({ store, studioDir: '/nonexistent' });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    let forkId: string;
    try {
      const fork = await post(`/api/runs/${runId}/fork`, { seq: approval!.seq });
      expect(fork.status, JSON.stringify(fork.body)).toBe(201);
      forkId = fork.body.runId as string;
      const cancel = await post(`/api/runs/${runId}/cancel`, { reason: 'superseded by the fork' });
      expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    } finally {
      await server.close();
      await store.close();
    }

    // A host drives the fork: it waits for its own approval; nothing is published for either run.
    const resumed = await spine(['resume', ...common, '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(3); // still waiting for a person
    expect(JSON.parse(resumed.stdout)).toContainEqual(expect.objectContaining({ runId: forkId, status: 'waiting', state: 'publishing' }));
    const pending = JSON.parse((await spine(['approvals', ...common, '--json'], env)).stdout) as { id: string; runId: string; jobKey: string }[];
    expect(pending).toMatchObject([{ runId: forkId, src: 'publish', status: 'pending', rationale: { forkedFrom: { runId, jobKey: approval!.jobKey } } }]);
    const all = JSON.parse((await spine(['approvals', '--all', ...common, '--json'], env)).stdout) as { id: string; status: string }[];
    expect(all.find((a) => a.id === approval!.id)).toMatchObject({ status: 'cancelled' });
    expect(query<{ status: string }>(db, 'SELECT status FROM jobs WHERE key = ?', approval!.jobKey)).toEqual([{ status: 'cancelled' }]);
    expect(publish.raw.has(approval!.jobKey)).toBe(false);
    expect(publish.raw.has(pending[0]!.jobKey)).toBe(false);

    const auditOf = async (id: string) => (JSON.parse((await spine(['audit', '--run', id, '--db', db, '--json'], env)).stdout) as { kind: string; who: string }[]).map((r) => [r.kind, r.who]);
    expect(await auditOf(runId)).toEqual([
      ['approval.requested', 'agent:release'],
      ['approval.cancelled', 'studio'],
      ['run.cancelled', 'studio'],
    ]);
    expect(await auditOf(forkId!)).toEqual([
      ['run.forked', 'studio'],
      ['approval.requested', 'agent:release'],
    ]);

    // Approved, the fork publishes once, under its own key.
    const approved = await spine(['approve', forkId!, '--as', 'ada', ...common], env);
    expect(approved.code, approved.stderr).toBe(0);
    expect(publish.applied.has(pending[0]!.jobKey)).toBe(true);
    expect(publish.raw.get(pending[0]!.jobKey)).toBe(1);
    expect((await spine(['audit', '--verify', '--db', db], env)).code).toBe(0);
  }, 60_000);
});
