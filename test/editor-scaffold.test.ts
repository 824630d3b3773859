import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';
import { startSpineServe, type SpineServe } from './support/startSpineServe.js';

// The machines folder sits inside the repo so that a generated `<name>.ts` resolves
// `@spine/runtime` and `zod` exactly as a user's machines folder does: on today's
// main the injected line then runs when a later `spine` command loads the folder.
const cleanup: string[] = [];
const serves: SpineServe[] = [];
afterEach(async () => {
  await Promise.all(serves.splice(0).map((s) => s.stop()));
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch() {
  const root = mkdtempSync(join(repoRoot, 'test', '.scratch-'));
  cleanup.push(root);
  const machines = join(root, 'machines');
  mkdirSync(machines);
  const dbDir = mkdtempSync(join(tmpdir(), 'spine-scaffold-'));
  cleanup.push(dbDir);
  return { machines, db: join(dbDir, 'spine.db'), marker: join(root, 'PWNED') };
}

function machineWithEvent(event: string, extra: Record<string, unknown> = {}) {
  return { id: 'evil', initial: 'idle', states: { idle: { on: { [event]: 'done' }, ...extra }, done: { type: 'final' } } };
}

describe('the editor save path never writes code from a request', () => {
  it('refuses event, action, guard, delay and activity names that would end a comment and import node:fs, and nothing runs when the folder is loaded later', async () => {
    const { machines, db, marker } = scratch();
    const serve = await startSpineServe(['--db', db, '--machines', machines]);
    serves.push(serve);
    const payload = `x\nimport('node:fs').then((fs) => fs.writeFileSync(${JSON.stringify(marker)}, 'ran'));\n//`;
    const response = await fetch(`${serve.url}/api/machines/evil`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ config: machineWithEvent(payload), baseVersion: null }),
    });
    const body = (await response.json()) as { error?: { code: string; message: string } };
    expect(response.status).toBe(422);
    expect(body.error?.code).toBe('invalid_machine');
    expect(body.error?.message).toContain('is not a valid event type');

    // Action, guard, delay and activity names are held to the same grammar.
    const code = `*/ import('node:fs').then((fs) => fs.writeFileSync(${JSON.stringify(marker)}, 'ran')); /*`;
    const configs = [
      machineWithEvent('go', { entry: code }),
      { id: 'evil', initial: 'idle', states: { idle: { on: { go: { target: 'done', guard: code } } }, done: { type: 'final' } } },
      { id: 'evil', initial: 'idle', states: { idle: { after: { [code]: 'done' } }, done: { type: 'final' } } },
      { id: 'evil', initial: 'idle', states: { idle: { invoke: { src: code, onDone: 'done' } }, done: { type: 'final' } } },
    ];
    for (const config of configs) {
      const refused = await fetch(`${serve.url}/api/machines/evil`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config, baseVersion: null }) });
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/is not a valid (action|guard|delay|activity) name/);
    }
    expect(readdirSync(machines)).toEqual([]); // neither evil.machine.json nor evil.ts was ever written
    expect(serve.alive()).toBe(true);
    await serve.stop();

    // Every later command that loads the folder (even one whose database does not exist).
    const resumed = await spawnSpine(['resume', '--db', join(machines, '..', 'nonexistent.db'), '--machines', machines]);
    await spawnSpine(['runs', '--db', db, '--machines', machines]);
    expect(resumed.stderr).not.toContain('ran');
    expect(existsSync(marker)).toBe(false);
  });

  it('still creates a machine with valid names, each written only as a string literal', async () => {
    const { machines, db } = scratch();
    const serve = await startSpineServe(['--db', db, '--machines', machines]);
    serves.push(serve);
    const config = { id: 'triage', initial: 'idle', states: { idle: { on: { 'ticket.opened': { target: 'done', actions: 'remember', guard: 'isNew' } } }, done: { type: 'final' } } };
    const response = await fetch(`${serve.url}/api/machines/triage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config, baseVersion: null }) });
    expect(response.status).toBe(200);
    expect(readdirSync(machines).sort()).toEqual(['triage.machine.json', 'triage.ts']);
    await serve.stop();
    // The generated stub loads: the folder stays usable by every later command.
    const listed = await spawnSpine(['runs', '--db', db, '--machines', machines]);
    expect(listed.code).toBe(0);
  });
});
