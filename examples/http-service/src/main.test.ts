import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Effects } from './orderMachine.js';

// The real service process (node + tsx, the built @spine packages), killed with SIGKILL while the
// card is being charged, then started again on the same database.

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spine-http-service-'));
const effects = new Effects(join(dir, 'effects.log'));
const running = new Set<ChildProcess>();

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startService(chargeDelayMs: number): Promise<{ child: ChildProcess; url: string }> {
  const env = { ...process.env, SPINE_DB: join(dir, 'orders.db'), EFFECTS_LOG: effects.file, PORT: '0', CHARGE_DELAY_MS: String(chargeDelayMs) };
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ child, url });
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk));
    child.on('exit', (code) => reject(new Error(`the service exited (${code}) before listening:\n${out}\n${err}`)));
  });
}

async function until<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const post = (url: string, body?: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

describe('the orders HTTP service', () => {
  it('finishes an order after a SIGKILL during the charge, without reserving stock or charging twice', async () => {
    const first = await startService(60_000); // the charge never finishes in this process
    const created = await post(`${first.url}/orders`);
    expect(created.status).toBe(201);
    const { orderId } = (await created.json()) as { orderId: string };
    expect((await post(`${first.url}/orders/${orderId}/items`, { sku: 'book', price: 12.5 })).status).toBe(202);
    expect((await post(`${first.url}/orders/${orderId}/items`, { sku: 'pen', price: 2 })).status).toBe(202);
    // Bad input is refused with the field named, and the order is untouched.
    const refused = await post(`${first.url}/orders/${orderId}/items`, { sku: 'lamp', price: -1 });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { message: string }).message).toMatch(/price/);
    expect((await post(`${first.url}/orders/${orderId}/place`)).status).toBe(202);

    await until(() => effects.lines(), (lines) => lines.some((l) => l['effect'] === 'charge' && l['phase'] === 'start'), 'the charge to start');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(effects.lines().filter((l) => l['phase'] === 'done').map((l) => l['effect'])).toEqual(['reserve']);

    const second = await startService(50);
    const order = await until(
      async () => (await (await fetch(`${second.url}/orders/${orderId}`)).json()) as { status: string; state: unknown; output: { reservation: string; charge: string } | null },
      (o) => o.status === 'done',
      'the order to finish after the restart',
    );
    expect(order.state).toBe('paid');

    const lines = effects.lines();
    const reserves = lines.filter((l) => l['effect'] === 'reserve');
    const starts = lines.filter((l) => l['effect'] === 'charge' && l['phase'] === 'start');
    const charges = lines.filter((l) => l['effect'] === 'charge' && l['phase'] === 'done');
    // The reservation was journaled before the crash: never made again.
    expect(reserves).toHaveLength(1);
    expect(reserves[0]).toMatchObject({ skus: ['book', 'pen'], reservation: order.output!.reservation });
    // The charge was in flight: run once more, with the same idempotency key, by the new process.
    expect(starts).toHaveLength(2);
    expect(starts[0]!['key']).toBe(starts[1]!['key']);
    expect(starts[0]!['pid']).not.toBe(starts[1]!['pid']);
    expect(charges).toEqual([expect.objectContaining({ key: starts[0]!['key'], amount: 14.5, charge: order.output!.charge })]);

    // The restarted service takes new orders as before.
    const next = (await (await post(`${second.url}/orders`)).json()) as { orderId: string };
    expect((await fetch(`${second.url}/orders/${next.orderId}`)).status).toBe(200);
    expect((await fetch(`${second.url}/orders/nope`)).status).toBe(404);
    second.child.kill('SIGTERM');
  }, 90_000);
});
