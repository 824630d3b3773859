import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { createRuntime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { createApp } from './createApp.js';
import { Effects, orderMachine } from './orderMachine.js';

// The service: one SQLite file holds every order actor; starting the runtime resumes whatever a
// crash or a deploy left unfinished before the first request is served.
const db = resolve(process.env['SPINE_DB'] ?? '.spine/orders.db');
mkdirSync(dirname(db), { recursive: true });
const effects = new Effects(resolve(process.env['EFFECTS_LOG'] ?? '.spine/effects.log'));
const chargeDelayMs = Number(process.env['CHARGE_DELAY_MS'] ?? 300);

const store = await SqliteStore.open(db);
const runtime = createRuntime({ store, machines: [orderMachine({ effects, chargeDelayMs })] });
await runtime.start();

const server = serve({ fetch: createApp(runtime, store).fetch, port: Number(process.env['PORT'] ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`orders service listening on http://127.0.0.1:${info.port} (database ${db})`);
});

const shutdown = async () => {
  server.close();
  await runtime.stop();
  await store.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
