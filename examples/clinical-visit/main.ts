import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { providerKindOf } from '@spine/llm';
import { createRuntime, loadMachineDirectory } from '@spine/runtime';
import { startScriptedModelServer, type ScriptedModelServer } from '@spine/scripted-model';
import { SqliteStore } from '@spine/store-sqlite';
import { toneWav } from './machines/wav.js';
import { scriptedTranscriber, visitScript } from './scripted.js';

// The clinical visit pipeline, one command: `npx tsx examples/clinical-visit/main.ts`.
// Running it again with the same --db and --run-id resumes the run (after a crash, say).

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    db: { type: 'string', default: '.spine/examples/clinical-visit.db' },
    'run-id': { type: 'string', default: 'visit-1' },
    audio: { type: 'string' },
    slices: { type: 'string', default: '4' },
    quiet: { type: 'boolean', default: false },
  },
});
const say = (line: string) => (values.quiet ? undefined : process.stdout.write(`${line}\n`));

let server: ScriptedModelServer | undefined;
if (providerKindOf(process.env) === undefined) {
  server = await startScriptedModelServer({ script: visitScript(), transcribe: scriptedTranscriber });
  process.env['OPENAI_BASE_URL'] = server.url;
  process.env['SPINE_MODEL'] ??= 'scripted';
  say(`offline: transcription and model calls go to a scripted server on 127.0.0.1:${server.port} (not a model, not a speech recogniser)`);
}

const db = resolve(values.db);
mkdirSync(dirname(db), { recursive: true });
const audioPath = resolve(values.audio ?? join(dirname(db), 'clinical-visit.wav'));
if (!existsSync(audioPath)) writeFileSync(audioPath, toneWav(6));

const store = await SqliteStore.open(db);
const runtime = createRuntime({ store, machines: await loadMachineDirectory(join(here, 'machines')) });
const runId = values['run-id'];
runtime.onStep(({ actor, history }) => {
  if (actor.machine === 'segment') say(`  ${actor.id.split('/').pop()}: ${history.stateValue.replace(/"/g, '')}`);
});
try {
  await runtime.start(); // resumes whatever a crash left unfinished
  if (await store.getActor(runId)) say(`resuming ${runId}`);
  else await runtime.startRun('visit', { runId, input: { audioPath, slices: Number(values.slices) } });
  const outcome = await runtime.waitForRun(runId, { horizonMs: 120_000 });
  if (outcome.status !== 'done') {
    process.stderr.write(`run ${runId} ended ${outcome.status}: ${JSON.stringify(outcome)}\n`);
    process.exitCode = 1;
  } else {
    say(JSON.stringify(outcome.output, null, 2));
    say(`every step: npx spine show ${runId} --db ${values.db}`);
  }
} finally {
  await runtime.stop();
  await store.close();
  await server?.close();
}
