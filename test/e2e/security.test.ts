import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureStudioBuilt, launchBrowser, startServe, tempDb, type ServeProcess } from './support/spine.js';

const running: ServeProcess[] = [];
afterAll(async () => {
  for (const serve of running) await serve.stop();
});

async function serve(options: Parameters<typeof startServe>[0]): Promise<ServeProcess> {
  const process = await startServe(options);
  running.push(process);
  return process;
}

/** Opens a WebSocket; resolves with the first message, or rejects with the refused upgrade's status. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; hello: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (data) => resolve({ ws, hello: JSON.parse(String(data)) }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function request(ws: WebSocket, text: string): Promise<{ ok: boolean; error?: { code: string; message: string; issues?: { path: string }[] } }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as { type: string; ok: boolean };
      if (message.type !== 'reply') return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
    ws.send(text);
  });
}

describe('studio security, against a real `spine serve`', () => {
  it('refuses to start on a non-loopback address without SPINE_TOKEN', async () => {
    const failure = await serve({ db: tempDb(), host: '0.0.0.0', env: { SPINE_TOKEN: undefined } }).then(
      () => undefined,
      (error: Error & { exitCode?: number; output?: string }) => error,
    );
    expect(failure, 'spine serve started on 0.0.0.0 without a token').toBeDefined();
    expect(failure!.exitCode).not.toBe(0);
    expect(failure!.output).toMatch(/SPINE_TOKEN/);
  });

  it('on a non-loopback address, refuses requests and upgrades without the token, and the studio works with it', async () => {
    ensureStudioBuilt();
    const token = 'e2e-secret-token';
    const server = await serve({ db: tempDb(), host: '0.0.0.0', env: { SPINE_TOKEN: token } });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/api/runs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/api/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await expect(openSocket(`ws://127.0.0.1:${server.port}/ws`)).rejects.toThrow('HTTP 401');
    const { ws } = await openSocket(`ws://127.0.0.1:${server.port}/ws`, { authorization: `Bearer ${token}` });
    ws.close();

    // A person opens the studio once with ?token=; the page and its socket then work through a cookie.
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/?token=${token}`);
      expect(new URL(page.url()).search).toBe('');
      await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor({ timeout: 5000 });
      await page.locator('[data-testid="intro"]').waitFor();
    } finally {
      await browser.close();
    }
  });

  it('refuses a WebSocket upgrade and a POST from a foreign Origin', async () => {
    const server = await serve({ db: tempDb() });
    await expect(openSocket(`ws://127.0.0.1:${server.port}/ws`, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    const same = await openSocket(`ws://127.0.0.1:${server.port}/ws`, { origin: server.url });
    same.ws.close();
    const post = await fetch(`${server.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ machine: 'ticker' }),
    });
    expect(post.status).toBe(403);
    expect(((await (await fetch(`${server.url}/api/runs`)).json()) as { runs: unknown[] }).runs).toHaveLength(0);
  });

  it('answers an oversized or invalid command with an error and changes nothing', async () => {
    const server = await serve({ db: tempDb() });
    const started = await fetch(`${server.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ machine: 'ticker' }) });
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };
    const state = async () => ((await (await fetch(`${server.url}/api/runs/${runId}`)).json()) as { run: { state: string; steps: number } }).run;
    await expect.poll(state, { timeout: 5000 }).toMatchObject({ state: 'waiting' });
    const before = await state();
    const { ws } = await openSocket(`ws://127.0.0.1:${server.port}/ws`);
    try {
      const huge = await request(ws, JSON.stringify({ type: 'send', id: 'big', actorId: runId, event: { type: 'ticker.resume', note: 'x'.repeat(300 * 1024) } }));
      expect(huge).toMatchObject({ ok: false, error: { code: 'payload_too_large' } });
      expect(huge.error!.message).toContain('262144 bytes');
      const invalid = await request(ws, JSON.stringify({ type: 'send', id: 'bad', actorId: runId, event: { kind: 'no type' } }));
      expect(invalid).toMatchObject({ ok: false, error: { code: 'invalid_command', issues: [{ path: 'event.type' }] } });
      const garbage = await request(ws, '{"type":');
      expect(garbage).toMatchObject({ ok: false, error: { code: 'invalid_json' } });
      const tooBigBody = await fetch(`${server.url}/api/runs/${runId}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: { type: 'ticker.resume', note: 'x'.repeat(300 * 1024) } }),
      });
      expect(tooBigBody.status).toBe(413);
    } finally {
      ws.close();
    }
    expect(await state()).toEqual(before);
    const letters = (await (await fetch(`${server.url}/api/dead-letters?actorId=${runId}`)).json()) as { deadLetters: unknown[] };
    expect(letters.deadLetters).toHaveLength(0);
  });
});
