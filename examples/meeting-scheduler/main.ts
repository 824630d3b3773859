import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRuntime, loadMachineDirectory } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { startServices, type Services } from './services.js';

// The meeting scheduler, one command: `npx tsx examples/meeting-scheduler/main.ts`.
// With SCHEDULER_SERVICES_URL unset it starts the calendar, task and notification services in
// this process; the crash test runs them in its own process, so they outlive every kill.

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    db: { type: 'string', default: '.spine/examples/meeting-scheduler.db' },
    'run-id': { type: 'string', default: 'meeting-1' },
    quiet: { type: 'boolean', default: false },
  },
});
const say = (line: string) => (values.quiet ? undefined : process.stdout.write(`${line}\n`));

let services: Services | undefined;
if (!process.env['SCHEDULER_SERVICES_URL']) {
  services = await startServices();
  process.env['SCHEDULER_SERVICES_URL'] = services.url;
  say(`calendar, task and notification services on ${services.url} (in this process)`);
}
const db = resolve(values.db);
mkdirSync(dirname(db), { recursive: true });
const store = await SqliteStore.open(db);
const runtime = createRuntime({ store, machines: await loadMachineDirectory(join(here, 'machines')) });
const runId = values['run-id'];
runtime.onStep(({ actor, history }) => say(`  ${actor.id}: ${history.eventType} -> ${history.stateValue.replace(/"/g, '')}`));
try {
  await runtime.start(); // resumes whatever a crash left unfinished
  if (await store.getActor(runId)) say(`resuming ${runId}`);
  else {
    await runtime.startRun('scheduler', {
      runId,
      input: { title: 'Quarterly planning', slot: '2026-12-07T10:00:00Z', attendees: ['ana@example.com', 'bo@example.com'], taskId: 'PLAN-42' },
    });
  }
  const outcome = await runtime.waitForRun(runId, { horizonMs: 60_000 });
  say(JSON.stringify(outcome.status === 'done' ? outcome.output : outcome, null, 2));
  if (services) say(`services: ${services.state.bookings.length} booking, ${services.state.taskUpdates.length} task update, ${services.state.notifications.length} notifications`);
  if (outcome.status !== 'done' || (outcome.output as { error?: unknown }).error) process.exitCode = 1;
} finally {
  await runtime.stop();
  await store.close();
  await services?.close();
}
