import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { chatRequestSchema, lastToolResultName, lastUserText, type ChatRequest } from './ChatRequest.js';
import { chatCompletion, chatCompletionChunks, type CompletionMeta } from './chatCompletion.js';
import {
  assertFault,
  createFaultDraw,
  faultAnswer,
  faultKinds,
  isFault,
  type Fault,
  type FaultContext,
  type FaultPlan,
} from './faults.js';
import { openAIError } from './openAIError.js';
import { ScriptPlayer } from './Script.js';
import { ScriptedModelError } from './ScriptedModelError.js';
import type {
  RecordedRequest,
  RequestOutcome,
  ScriptedModelServer,
  ScriptedModelServerOptions,
  ScriptedModelTotals,
} from './ScriptedModelServer.js';
import { assertReply, renderReply, type RenderedReply, type ScriptedReply } from './ScriptedReply.js';
import { addUsage, countCompletionTokens, countPromptTokens, zeroUsage, type Usage } from './tokens.js';
import { describeAudio, handleTranscription, type RecordedTranscription } from './transcriptions.js';

const maxBodyBytes = 16 * 1024 * 1024;
const ownedBy = 'spine-scripted-model';

/**
 * Starts a scripted model server: a real HTTP server speaking OpenAI Chat Completions whose
 * answers come from a script, with injectable faults. It is a test double, not a model.
 *
 * @example
 * const server = await startScriptedModelServer({
 *   script: [{ match: { lastUser: 'capital of France' }, reply: { content: 'Paris.' } }],
 * });
 * process.env.OPENAI_BASE_URL = server.url; // http://127.0.0.1:<port>/v1
 * // ... run the code under test, then:
 * expect(server.totals().completed).toBe(1);
 * await server.close();
 */
export async function startScriptedModelServer(options: ScriptedModelServerOptions = {}): Promise<ScriptedModelServer> {
  const host = options.host ?? '127.0.0.1';
  const stallMs = nonNegative('stallMs', options.stallMs ?? 60_000);
  const latencyMs = nonNegative('latencyMs', options.latencyMs ?? 0);
  const chunkDelayMs = nonNegative('chunkDelayMs', options.chunkDelayMs ?? 0);
  const contextWindowTokens = options.contextWindowTokens;
  if (contextWindowTokens !== undefined && !(Number.isInteger(contextWindowTokens) && contextWindowTokens > 0)) {
    throw new ScriptedModelError('invalid_options', `contextWindowTokens must be a positive integer, got ${String(contextWindowTokens)}.`);
  }

  let player = new ScriptPlayer(options.script ?? []);
  let drawFault = options.faults === undefined ? undefined : createFaultDraw(options.faults);
  const requests: RecordedRequest[] = [];
  const transcriptions: RecordedTranscription[] = [];
  const modelsSeen = new Set<string>();
  let completionCount = 0;
  let toolCallCount = 0;
  const shutdown = new AbortController();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Only a broken socket gets here; the request's outcome is already recorded where it is known.
      if (!res.headersSent) sendJson(res, 500, openAIError('The scripted model server failed to answer.', 'server_error'));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    if (req.method === 'GET' && path === '/v1/models') {
      const ids = [...new Set([...player.models(), ...modelsSeen])];
      return sendJson(res, 200, { object: 'list', data: ids.map(modelObject) });
    }
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      return sendJson(res, 200, modelObject(decodeURIComponent(path.slice('/v1/models/'.length))));
    }
    if (path === '/v1/audio/transcriptions' && req.method === 'POST') return handleTranscription(req, res, options.transcribe ?? describeAudio, transcriptions);
    if (path === '/v1/chat/completions') {
      if (req.method === 'POST') return handleChat(req, res);
      return sendJson(
        res,
        405,
        openAIError(`${req.method ?? 'This method'} is not allowed on /v1/chat/completions; use POST.`, 'invalid_request_error', 'method_not_allowed'),
        { allow: 'POST' },
      );
    }
    return sendJson(
      res,
      404,
      openAIError(
        `Unknown request URL: ${req.method ?? ''} ${url.pathname}. This scripted model server serves ` +
          'POST /v1/chat/completions, POST /v1/audio/transcriptions and GET /v1/models; its base URL ends in /v1.',
        'invalid_request_error',
        'unknown_url',
      ),
    );
  }

  async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableEnded) clientGone = true;
    });

    const key = req.headers['idempotency-key'];
    const record: RecordedRequest = { at: Date.now(), body: undefined, outcome: 'pending' };
    if (typeof key === 'string') record.idempotencyKey = key;
    requests.push(record);
    const refuse = (outcome: RequestOutcome, status: number, message: string, code: string | null, param: string | null = null) => {
      record.outcome = outcome;
      const type = status >= 500 ? 'server_error' : 'invalid_request_error';
      sendJson(res, status, openAIError(message, type, code, param));
    };

    let text: string | undefined;
    try {
      text = await readBody(req);
    } catch {
      record.outcome = 'client_closed';
      return;
    }
    if (text === undefined) return refuse('invalid_request', 413, `The request body is larger than ${maxBodyBytes} bytes.`, 'request_too_large');
    let body: unknown = text;
    let isJson = true;
    try {
      body = JSON.parse(text);
    } catch {
      isJson = false;
    }
    record.body = body;

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendFault(res, record, { kind: 'unauthorized' }, undefined);
    }
    if (!isJson) {
      return refuse(
        'invalid_request',
        400,
        'We could not parse the JSON body of your request. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.',
        null,
      );
    }
    const parsed = chatRequestSchema.safeParse(body);
    if (!parsed.success) {
      const { message, param } = describeIssues(parsed.error);
      return refuse('invalid_request', 400, message, 'invalid_request_body', param);
    }
    const chat = parsed.data;
    record.chat = chat;
    modelsSeen.add(chat.model);

    const meta: CompletionMeta = {
      id: `chatcmpl-scripted-${String(++completionCount).padStart(6, '0')}`,
      created: Math.floor(Date.now() / 1000),
      model: chat.model,
    };
    const promptTokens = countPromptTokens(chat);
    const faultContext: FaultContext = { ...meta, stream: chat.stream === true, promptTokens };
    if (contextWindowTokens !== undefined) faultContext.contextWindowTokens = contextWindowTokens;

    const drawn = drawFault?.();
    if (drawn !== undefined) return sendFault(res, record, drawn, faultContext);
    if (contextWindowTokens !== undefined && promptTokens > contextWindowTokens) {
      return sendFault(res, record, { kind: 'context_length' }, faultContext);
    }

    const rule = player.next(chat);
    if (rule === undefined) return refuse('no_rule_matched', 400, noRuleMessage(chat, player), 'no_rule_matched');

    // The rule's answer: a fault to send, or a reply rendered now so that a reply which cannot be
    // serialized is reported as a script error rather than a broken response.
    let answer: { fault: Fault } | { reply: ScriptedReply; rendered: RenderedReply };
    try {
      const value = rule.respond ? await rule.respond(chat) : (rule.fault ?? (rule.reply as ScriptedReply));
      if (isFault(value)) {
        assertFault(value, 'The answer of respond()');
        answer = { fault: value };
      } else {
        assertReply(value, 'The answer of respond()');
        answer = { reply: value, rendered: renderReply(value, () => `call_scripted_${++toolCallCount}`) };
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const source = rule.respond ? "The script's respond function failed" : 'The scripted reply cannot be sent';
      return refuse('script_error', 500, `${source}: ${reason}`, 'script_error');
    }

    if (latencyMs > 0 && 'reply' in answer) await sleep(latencyMs, shutdown.signal);
    if (clientGone || shutdown.signal.aborted) {
      record.outcome = 'client_closed';
      return;
    }
    if ('fault' in answer) return sendFault(res, record, answer.fault, faultContext);

    const { reply, rendered } = answer;
    const completionTokens = countCompletionTokens(
      rendered.content,
      rendered.toolCalls.map((call) => call.function.arguments),
    );
    const usage = resolveUsage(reply.usage, promptTokens, completionTokens);

    if (chat.stream === true) {
      const chunks = chatCompletionChunks(rendered, meta, usage, chat.stream_options?.include_usage === true);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...scriptedHeader });
      // A reply streamed slowly is complete (`ok`) only once its last chunk is out.
      if (!(await writeChunks(res, chunks, () => clientGone))) {
        record.outcome = 'client_closed';
        return;
      }
      record.outcome = 'ok';
      record.usage = usage;
      res.end('data: [DONE]\n\n');
    } else {
      record.outcome = 'ok';
      record.usage = usage;
      sendJson(res, 200, chatCompletion(rendered, meta, usage));
    }
  }

  /** Writes SSE chunks, `chunkDelayMs` apart; false when the client went away or the server closed first. */
  async function writeChunks(res: ServerResponse, chunks: readonly unknown[], gone: () => boolean): Promise<boolean> {
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs, shutdown.signal);
      if (gone() || shutdown.signal.aborted) return false;
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    return true;
  }

  async function sendFault(res: ServerResponse, record: RecordedRequest, fault: Fault, context: FaultContext | undefined): Promise<void> {
    record.outcome = fault.kind;
    const answer = faultAnswer(fault, context ?? { id: '', created: 0, model: '', stream: false, promptTokens: 0 });
    if ('disconnect' in answer) {
      // A streamed answer gets its first words out, then the connection drops mid-stream, as when a
      // provider or proxy resets it; a plain request loses its connection with no answer at all.
      if (context?.stream) {
        let gone = false;
        res.once('close', () => (gone = !res.writableEnded));
        const partial: RenderedReply = { content: answer.partial, toolCalls: [], finishReason: 'stop' };
        const chunks = chatCompletionChunks(partial, context, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cached_tokens: 0 }, false).slice(0, -1);
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...scriptedHeader, 'x-scripted-fault': fault.kind });
        await writeChunks(res, chunks, () => gone);
        if (chunkDelayMs > 0) await sleep(chunkDelayMs, shutdown.signal);
      }
      res.destroy();
      return;
    }
    if (answer.stall) {
      // Hold the request without a byte of answer, then drop the connection, as a hung upstream does.
      const timer = setTimeout(() => res.destroy(), stallMs);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    res.writeHead(answer.status, { ...answer.headers, ...scriptedHeader, 'x-scripted-fault': fault.kind });
    res.end(answer.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1`,
    port,
    requests,
    transcriptions,
    setScript(script) {
      player = new ScriptPlayer(script);
    },
    setFaults(plan: FaultPlan | undefined) {
      drawFault = plan === undefined ? undefined : createFaultDraw(plan);
    },
    totals(): ScriptedModelTotals {
      let usage: Usage = { ...zeroUsage };
      let completed = 0;
      let faulted = 0;
      for (const r of requests) {
        if (r.outcome === 'ok') {
          completed++;
          if (r.usage) usage = addUsage(usage, r.usage);
        } else if ((faultKinds as readonly string[]).includes(r.outcome)) {
          faulted++;
        }
      }
      return { calls: requests.length, completed, faulted, usage };
    },
    callsByKey() {
      const counts = new Map<string, { received: number; completed: number }>();
      for (const r of requests) {
        const key = r.idempotencyKey ?? '';
        const entry = counts.get(key) ?? { received: 0, completed: 0 };
        entry.received++;
        if (r.outcome === 'ok') entry.completed++;
        counts.set(key, entry);
      }
      return counts;
    },
    reset() {
      requests.length = 0;
      transcriptions.length = 0;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        shutdown.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

const scriptedHeader = { 'x-scripted-model': ownedBy };

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new ScriptedModelError('invalid_options', `${name} must be a number of milliseconds >= 0, got ${String(value)}.`);
  }
  return value;
}

function modelObject(id: string) {
  return { id, object: 'model', created: 0, owned_by: ownedBy };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...scriptedHeader, ...headers });
  res.end(JSON.stringify(body));
}

/** Reads the whole body as UTF-8, or returns undefined when it exceeds the size limit. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function resolveUsage(override: Partial<Usage> | undefined, promptTokens: number, completionTokens: number): Usage {
  const prompt = override?.prompt_tokens ?? promptTokens;
  const completion = override?.completion_tokens ?? completionTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: override?.total_tokens ?? prompt + completion,
    cached_tokens: override?.cached_tokens ?? 0,
  };
}

/** Names the first invalid field the way OpenAI does (`messages[0].role`) and lists every problem. */
function describeIssues(error: z.ZodError): { message: string; param: string | null } {
  const paths = error.issues.map((issue) =>
    issue.path.reduce<string>(
      (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc === '' ? String(part) : `${acc}.${String(part)}`),
      '',
    ),
  );
  const problems = error.issues.map((issue, i) => `'${paths[i] || '(body)'}': ${issue.message}`);
  return { message: `Invalid request body: ${problems.join('; ')}.`, param: paths[0] || null };
}

function noRuleMessage(chat: ChatRequest, player: ScriptPlayer): string {
  const lastUser = lastUserText(chat);
  const toolResult = lastToolResultName(chat);
  const quoted = lastUser === undefined ? '(none)' : JSON.stringify(lastUser.length > 500 ? `${lastUser.slice(0, 500)}…` : lastUser);
  const usedUp = player.usedUpMatch(chat);
  return (
    `No script rule matched this request (model ${JSON.stringify(chat.model)}, ${plural(chat.messages.length, 'message')}, ` +
    `${plural(chat.tools?.length ?? 0, 'tool')}${toolResult === undefined ? '' : `, last message is a result of tool ${JSON.stringify(toolResult)}`}). ` +
    `Last user message: ${quoted}. ` +
    (usedUp === undefined
      ? 'Add a rule whose match fits this request; the scripted model server never invents an answer.'
      : `Script rule ${usedUp} matches it but its \`times\` are used up; raise them or add another rule.`)
  );
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
