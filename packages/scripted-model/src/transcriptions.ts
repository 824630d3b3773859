import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openAIError } from './openAIError.js';

/** One audio file to transcribe, as `POST /v1/audio/transcriptions` received it. */
export interface TranscriptionRequest {
  bytes: Buffer;
  filename: string;
  model: string;
  prompt?: string;
  language?: string;
}

/**
 * Computes the scripted transcript of an audio file (it is not a speech model: it answers by
 * rule, typically by the file name or content). Default: `scripted transcript of <file>
 * (<n> bytes, sha256 <8 hex>)`.
 */
export type Transcriber = (request: TranscriptionRequest) => string | Promise<string>;

/** One `POST /v1/audio/transcriptions` the server received. */
export interface RecordedTranscription {
  at: number;
  idempotencyKey?: string;
  filename: string;
  model: string;
  bytes: number;
  outcome: 'ok' | 'invalid_request' | 'script_error' | 'pending';
  text?: string;
}

const maxAudioBytes = 25 * 1024 * 1024; // OpenAI's own limit

/** The default transcriber: names the file and its content hash, and says it is scripted. */
export const describeAudio: Transcriber = ({ bytes, filename }) =>
  `scripted transcript of ${filename} (${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 8)})`;

/**
 * Answers an OpenAI-compatible `POST /v1/audio/transcriptions` (multipart/form-data with
 * `file` and `model`, optional `prompt`, `language`, `response_format` json | text |
 * verbose_json), recording it in `recorded`.
 */
export async function handleTranscription(req: IncomingMessage, res: ServerResponse, transcribe: Transcriber, recorded: RecordedTranscription[]): Promise<void> {
  const key = req.headers['idempotency-key'];
  const record: RecordedTranscription = { at: Date.now(), filename: '', model: '', bytes: 0, outcome: 'pending' };
  if (typeof key === 'string') record.idempotencyKey = key;
  recorded.push(record);
  const refuse = (status: number, message: string, code: string, param: string | null = null) => {
    record.outcome = 'invalid_request';
    send(res, status, openAIError(message, 'invalid_request_error', code, param));
  };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxAudioBytes) return refuse(413, `The audio is larger than ${maxAudioBytes} bytes.`, 'request_too_large');
    chunks.push(chunk as Buffer);
  }
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return refuse(400, 'Send the audio as multipart/form-data with a `file` and a `model` field.', 'invalid_content_type');
  let form: FormData;
  try {
    form = await new Request('http://localhost/', { method: 'POST', headers: { 'content-type': type }, body: Buffer.concat(chunks) }).formData();
  } catch (error) {
    return refuse(400, `The multipart body could not be parsed: ${(error as Error).message}`, 'invalid_multipart');
  }
  const file = form.get('file');
  const model = form.get('model');
  if (!(file instanceof Blob)) return refuse(400, "Missing required parameter: 'file'.", 'missing_required_parameter', 'file');
  if (typeof model !== 'string' || !model) return refuse(400, "Missing required parameter: 'model'.", 'missing_required_parameter', 'model');
  const format = form.get('response_format') ?? 'json';
  if (format !== 'json' && format !== 'text' && format !== 'verbose_json') return refuse(400, `response_format '${String(format)}' is not supported here; use json, text or verbose_json.`, 'invalid_value', 'response_format');
  const bytes = Buffer.from(await file.arrayBuffer());
  const filename = (file as File).name || 'audio';
  Object.assign(record, { filename, model, bytes: bytes.length });
  const request: TranscriptionRequest = { bytes, filename, model };
  const prompt = form.get('prompt');
  const language = form.get('language');
  if (typeof prompt === 'string') request.prompt = prompt;
  if (typeof language === 'string') request.language = language;
  let text: string;
  try {
    text = await transcribe(request);
  } catch (error) {
    record.outcome = 'script_error';
    return send(res, 500, openAIError(`The scripted transcriber failed: ${(error as Error).message}`, 'server_error', 'script_error'));
  }
  record.outcome = 'ok';
  record.text = text;
  if (format === 'text') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-scripted-model': 'true' }).end(text);
    return;
  }
  send(res, 200, format === 'verbose_json' ? { task: 'transcribe', language: request.language ?? 'english', duration: 0, text, segments: [] } : { text });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-scripted-model': 'true' }).end(JSON.stringify(body));
}
