import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedModelServer, type ScriptedModelServer } from './index.js';

let server: ScriptedModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function upload(fields: Record<string, string | Blob>, filename = 'slice-0.wav'): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value instanceof Blob) form.append(name, value, filename);
    else form.append(name, value);
  }
  return form;
}

describe('POST /v1/audio/transcriptions', () => {
  it('answers an OpenAI-style multipart upload with the scripted transcript and records it with its idempotency key', async () => {
    server = await startScriptedModelServer({ transcribe: ({ filename, bytes, model }) => `${model} heard ${bytes.length} bytes of ${filename}` });
    const response = await fetch(`${server.url}/audio/transcriptions`, {
      method: 'POST',
      headers: { 'idempotency-key': 'k1' },
      body: upload({ file: new Blob([new Uint8Array(44)], { type: 'audio/wav' }), model: 'whisper-1' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ text: 'whisper-1 heard 44 bytes of slice-0.wav' });
    expect(server.transcriptions).toMatchObject([{ idempotencyKey: 'k1', filename: 'slice-0.wav', model: 'whisper-1', bytes: 44, outcome: 'ok' }]);
    const text = await fetch(`${server.url}/audio/transcriptions`, { method: 'POST', body: upload({ file: new Blob(['abc']), model: 'm', response_format: 'text' }) });
    expect(await text.text()).toBe('m heard 3 bytes of slice-0.wav');
  });

  it('says by default that the transcript is scripted, and refuses a request without a file or model as OpenAI does', async () => {
    server = await startScriptedModelServer();
    const ok = await fetch(`${server.url}/audio/transcriptions`, { method: 'POST', body: upload({ file: new Blob(['abc']), model: 'whisper-1' }, 'a.mp3') });
    expect(((await ok.json()) as { text: string }).text).toMatch(/^scripted transcript of a\.mp3 \(3 bytes, sha256 [0-9a-f]{8}\)$/);
    const missing = await fetch(`${server.url}/audio/transcriptions`, { method: 'POST', body: upload({ model: 'whisper-1' }) });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: { message: "Missing required parameter: 'file'.", type: 'invalid_request_error', param: 'file', code: 'missing_required_parameter' } });
    const json = await fetch(`${server.url}/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(400);
  });
});
