import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built `spine` binary, against a copy of the test machines that the test edits.
const bin = fileURLToPath(new URL('../bin/spine.js', import.meta.url));
const source = fileURLToPath(new URL('../test-machines', import.meta.url));

function spine(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, SPINE_DB: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('spine migrate', () => {
  it('moves a waiting run to the edited machine when its state exists there, and refuses, naming the state, when it does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-migrate-'));
    const machines = join(dir, 'machines');
    cpSync(source, machines, { recursive: true });
    // The copy imports xstate and zod, as ES modules.
    symlinkSync(fileURLToPath(new URL('../../../node_modules', import.meta.url)), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const db = join(dir, 'spine.db');
    const file = join(machines, 'door.machine.json');
    const original = JSON.parse(readFileSync(file, 'utf8'));

    const started = spine('run', 'door', '--db', db, '--machines', machines, '--input', '{"name":"front"}', '--json');
    expect(started.code, started.stderr).toBe(3);
    const { runId } = JSON.parse(started.stdout) as { runId: string };

    // v2: a door that can also be jammed; `closed` still exists.
    const v2 = structuredClone(original);
    v2.states.closed.on['door.close'] = 'jammed';
    v2.states.jammed = { type: 'final' };
    writeFileSync(file, `${JSON.stringify(v2, null, 2)}\n`);
    const moved = spine('migrate', runId, '--db', db, '--machines', machines, '--as', 'ana', '--json');
    expect(moved.code, moved.stderr).toBe(0);
    const result = JSON.parse(moved.stdout);
    expect(result).toMatchObject({ actorId: runId, machine: 'door', state: 'closed', moved: true });
    expect(result.from).not.toBe(result.to);
    expect(spine('migrate', runId, '--db', db, '--machines', machines).stdout).toContain('already on');

    // The run continues on v2: `door.close` while closed now jams it.
    const sent = spine('send', runId, '{"type":"door.close"}', '--db', db, '--machines', machines, '--json');
    expect(JSON.parse(sent.stdout).outcome).toMatchObject({ status: 'done' });

    // v3 renames `closed`: a run waiting there cannot move.
    const waiting = JSON.parse(spine('run', 'door', '--db', db, '--machines', machines, '--input', '{"name":"back"}', '--json').stdout) as { runId: string };
    const v3 = structuredClone(v2);
    v3.states.shut = v3.states.closed;
    delete v3.states.closed;
    v3.initial = 'shut';
    v3.states.open.on['door.close'] = 'shut';
    writeFileSync(file, `${JSON.stringify(v3, null, 2)}\n`);
    const refused = spine('migrate', waiting.runId, '--db', db, '--machines', machines);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/its current state 'closed' does not exist in that version\. It stays on door@/);
    expect(spine('migrate', waiting.runId, '--to', 'nope', '--db', db, '--machines', machines).code).toBe(2);
  });
});
