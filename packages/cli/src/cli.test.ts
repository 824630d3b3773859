import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadMachineDirectory, MachineRegistry, roundTripSnapshot } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import Database from 'better-sqlite3';
import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';

// Runs the built `spine` binary as a user would (the root `npm test` builds first).
const bin = fileURLToPath(new URL('../bin/spine.js', import.meta.url));
const machines = fileURLToPath(new URL('../test-machines', import.meta.url));

function spine(...args: string[]) {
  return spineWithStdin('', ...args);
}

function spineWithStdin(stdin: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input: stdin, env: { ...process.env, SPINE_DB: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function freshDb() {
  return join(mkdtempSync(join(tmpdir(), 'spine-cli-')), 'spine.db');
}

function digest(path: string) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Reads what a finished `spine` command left, through a read-only store. */
async function readStore<T>(db: string, read: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = await SqliteStore.open(db, { readonly: true });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

describe('spine CLI', () => {
  it('runs a machine to completion, prints its output and exits 0', () => {
    const db = freshDb();
    const r = spine('run', 'instant', '--db', db, '--machines', machines, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'done', output: { ok: true } });
  });

  it('exits 1 with the reason when the run fails', () => {
    const r = spine('run', 'instant', '--db', freshDb(), '--machines', machines, '--input', '{"fail":true}');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed: .*the work refused to happen/);
  });

  it('exits 3 when the run waits for an event, then finishes it through `spine send`', () => {
    const db = freshDb();
    const r = spine('run', 'door', '--db', db, '--machines', machines, '--input', '{"name":"front"}', '--json');
    expect(r.code, r.stderr).toBe(3);
    const { runId } = JSON.parse(r.stdout) as { runId: string };
    expect(spine('send', runId, '{"type":"door.open","by":"ada"}', '--db', db, '--machines', machines).code).toBe(0);
    expect(spine('send', runId, '{"type":"door.close"}', '--db', db, '--machines', machines).code).toBe(0);
    const sent = spine('send', runId, '{"type":"door.lock"}', '--db', db, '--machines', machines, '--json');
    expect(JSON.parse(sent.stdout).outcome).toEqual({ status: 'done', runId, output: { name: 'front', openedBy: ['ada'] } });
    const listed = JSON.parse(spine('runs', '--db', db, '--json').stdout) as { runId: string; status: string }[];
    expect(listed).toMatchObject([{ runId, status: 'done', steps: 4 }]);
    const shown = JSON.parse(spine('show', runId, '--db', db, '--json').stdout) as { steps: { event: { type: string } }[] };
    expect(shown.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'door.open', 'door.close', 'door.lock']);
    expect(spine('show', runId, '--db', db).stdout).toMatch(/door\.open\s+open/);
  });

  it('reads a JSON argument from stdin with - and from a file with @path, and names a file it cannot read', () => {
    const db = freshDb();
    const dir = mkdtempSync(join(tmpdir(), 'spine-cli-json-'));
    writeFileSync(join(dir, 'input.json'), '{"name":"side"}');
    const r = spine('run', 'door', '--db', db, '--machines', machines, '--input', `@${join(dir, 'input.json')}`, '--json');
    expect(r.code, r.stderr).toBe(3);
    const { runId } = JSON.parse(r.stdout) as { runId: string };
    expect(spineWithStdin('{"type":"door.open","by":"ada"}', 'send', runId, '-', '--db', db, '--machines', machines).code).toBe(0);
    const missing = spine('send', runId, `@${join(dir, 'nope.json')}`, '--db', db, '--machines', machines);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the event file '.*nope\.json': ENOENT/);
    const bad = spineWithStdin('{"type":', 'send', runId, '-', '--db', db, '--machines', machines);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the event is not valid JSON/);
    const shown = JSON.parse(spine('show', runId, '--db', db, '--json').stdout) as { steps: { event: { type: string } }[] };
    expect(shown.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'door.open']);
  });

  it('round-trips every snapshot of its test machines through JSON unchanged', async () => {
    const db = freshDb();
    spine('run', 'instant', '--db', db, '--machines', machines);
    const { runId } = JSON.parse(spine('run', 'door', '--db', db, '--machines', machines, '--input', '{"name":"x"}', '--json').stdout) as { runId: string };
    spine('send', runId, '{"type":"door.open","by":"bo"}', '--db', db, '--machines', machines);
    const registry = new MachineRegistry();
    const parent = pathToFileURL(`${machines}/`).href;
    for (const d of await loadMachineDirectory(machines, { importModule: (url) => tsImport(url, parent) as Promise<Record<string, unknown>> })) registry.register(d);
    const history = await readStore(db, async (store) => (await Promise.all((await store.listActors()).map(async (a) => (await store.history(a.id)).map((h) => ({ machine: a.machine, snapshot: h.snapshot }))))).flat());
    expect(new Set(history.map((h) => h.machine))).toEqual(new Set(['door', 'instant']));
    for (const h of history) expect(roundTripSnapshot(registry.machine(h.machine).machine, h.snapshot)).toBe(h.snapshot);
  });

  it('refuses malformed --input with one line naming it, exit 2, and creates no database', () => {
    const db = freshDb();
    const r = spine('run', 'door', '--db', db, '--machines', machines, '--input', '{name:');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--input is not valid JSON/);
    expect(existsSync(db)).toBe(false);
  });

  it('refuses input that fails the machine schema, naming the field', async () => {
    const db = freshDb();
    const r = spine('run', 'door', '--db', db, '--machines', machines, '--input', '{"name":""}');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid input for machine 'door': name: /);
    expect(await readStore(db, (store) => store.listActors())).toEqual([]);
  });

  it('refuses an unknown machine, listing the known ones, and creates no database', () => {
    const db = freshDb();
    const r = spine('run', 'doer', '--db', db, '--machines', machines);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("spine: Unknown machine 'doer'. Known machines: door, instant.\n");
    expect(existsSync(db)).toBe(false);
  });

  it('refuses an unknown run id for show and send', () => {
    const db = freshDb();
    spine('run', 'instant', '--db', db, '--machines', machines);
    const before = digest(db);
    const show = spine('show', 'run-nope', '--db', db);
    expect(show.code).toBe(2);
    expect(show.stderr).toMatch(/no run with id 'run-nope'/);
    const send = spine('send', 'run-nope', '{"type":"door.lock"}', '--db', db, '--machines', machines);
    expect(send.code).toBe(2);
    expect(send.stderr).toMatch(/no run or actor with id 'run-nope'/);
    expect(digest(db)).toBe(before);
  });

  it('refuses a foreign file or another application database as --db without writing to it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-cli-'));
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'these are my notes, not a database\n'.repeat(50));
    const other = join(dir, 'other.db');
    const d = new Database(other); // raw SQLite on purpose: the test is about another application's database file
    d.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5);');
    d.close();
    for (const [file, pattern] of [
      [text, /not a Spine database \(not an SQLite file\)/],
      [other, /SQLite database of another application \(tables: invoices\)/],
    ] as const) {
      const before = digest(file);
      for (const args of [['run', 'instant', '--machines', machines], ['runs'], ['resume', '--machines', machines]]) {
        const r = spine(...args, '--db', file);
        expect(r.code, `${args[0]} ${file}`).toBe(2);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(digest(file)).toBe(before);
      expect(existsSync(`${file}-wal`)).toBe(false);
    }
  });

  it('refuses an event that fails its schema, names the field, and leaves the run untouched', async () => {
    const db = freshDb();
    const { runId } = JSON.parse(spine('run', 'door', '--db', db, '--machines', machines, '--input', '{"name":"back"}', '--json').stdout) as { runId: string };
    const actors = (store: SqliteStore) => store.listActors().then((all) => all.map(({ seq, snapshot, status }) => ({ seq, snapshot, status })));
    const before = await readStore(db, actors);
    const r = spine('send', runId, '{"type":"door.open","by":""}', '--db', db, '--machines', machines);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^spine: Event 'door.open' refused by machine 'door': by: .+\n$/);
    expect(await readStore(db, actors)).toEqual(before);
    expect(await readStore(db, (store) => store.nextEvents(runId, Number.MAX_SAFE_INTEGER, 100))).toEqual([]);
    expect(await readStore(db, (store) => store.listDeadLetters())).toHaveLength(1);
  });

  it('answers bad usage with the usage line and exit 2', () => {
    expect(spine('run').code).toBe(2);
    expect(spine('frobnicate').code).toBe(2);
    const r = spine('runs', '--frob');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^spine: unknown option '--frob'\nusage: spine runs/);
  });
});
