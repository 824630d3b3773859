import { createLlmEnvironment, modelActivity, type ModelStep } from '@spine/llm';
import { defineActivity, RetryableError, sendToParent, TerminalError, type MachineImplementation } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';
import { wavSlice } from './wav.js';

// One slice of a visit: a transcription call (an OpenAI-compatible POST /audio/transcriptions,
// multipart, with the activity's idempotency key), then one model call for its summary. Each is
// an activity, so a crash re-pays at most the call in flight, and never one that finished.

export const segmentContext = z.object({
  index: z.number().int(),
  audioPath: z.string(),
  fmt: z.string(),
  offset: z.number().int(),
  length: z.number().int(),
  transcript: z.string().nullable(),
  summary: z.string().nullable(),
  error: z.string().nullable(),
});
type Context = z.infer<typeof segmentContext>;

export const SUMMARIZER_SYSTEM = 'You are the visit summarizer. Summarise this part of a clinical visit transcript in one or two sentences. Answer with JSON {"summary": "..."}.';

const llm = createLlmEnvironment();

const implementation: MachineImplementation = {
  schemas: {
    input: z.object({ index: z.number().int(), audioPath: z.string(), fmt: z.string(), offset: z.number().int(), length: z.number().int() }),
    context: segmentContext,
  },
  context: (input: Omit<Context, 'transcript' | 'summary' | 'error'>): Context => ({ ...input, transcript: null, summary: null, error: null }),
  actions: {
    saveTranscript: assign({ transcript: ({ event }: any) => event.output.text }),
    saveSummary: assign({ summary: ({ event }: any) => (event.output as ModelStep<{ summary: string }>).object?.summary ?? '' }),
    reportSummary: sendToParent(({ context }: { context: Context }) => ({ type: 'segment.summarized', index: context.index, transcript: context.transcript ?? '', summary: context.summary ?? '' })),
    reportFailure: sendToParent(({ context, event }: { context: Context; event: any }) => ({ type: 'segment.failed', index: context.index, reason: String(event.error?.message ?? event.error) })),
  },
  activities: {
    transcribe: defineActivity({
      mapInput: ({ context }) => ({ index: context.index, audioPath: context.audioPath, fmt: context.fmt, offset: context.offset, length: context.length }),
      maxAttempts: 6,
      async run(input: { index: number; audioPath: string; fmt: string; offset: number; length: number }, ctx) {
        const base = (process.env['OPENAI_BASE_URL']?.trim() || 'https://api.openai.com/v1').replace(/\/+$/, '');
        const model = process.env['SPINE_TRANSCRIBE_MODEL'] ?? 'whisper-1';
        const form = new FormData();
        form.append('file', new Blob([await wavSlice(input.audioPath, input, input.offset, input.length)], { type: 'audio/wav' }), `segment-${input.index}.wav`);
        form.append('model', model);
        const headers: Record<string, string> = { 'idempotency-key': ctx.key };
        if (process.env['OPENAI_API_KEY']) headers['authorization'] = `Bearer ${process.env['OPENAI_API_KEY']}`;
        const started = Date.now();
        const response = await fetch(`${base}/audio/transcriptions`, { method: 'POST', headers, body: form, signal: ctx.signal });
        const body = await response.text();
        ctx.record({ call: 'transcription', agent: 'transcriber', model, audioBytes: input.length, status: response.status, latencyMs: Date.now() - started });
        if (response.status === 429 || response.status >= 500) throw new RetryableError(`transcription answered ${response.status}: ${body.slice(0, 200)}`, { retryAfterMs: 500 * ctx.attempt });
        if (!response.ok) throw new TerminalError(`transcription answered ${response.status}: ${body.slice(0, 200)}`);
        return { text: (JSON.parse(body) as { text: string }).text };
      },
    }),
    summarize: modelActivity({
      agent: 'summarizer',
      llm,
      model: { 'openai-compatible': 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' },
      mapInput: ({ context }: { context: Context }) => ({ index: context.index, transcript: context.transcript }),
      request: ({ input }) => ({
        system: SUMMARIZER_SYSTEM,
        messages: [{ role: 'user', content: `Slice ${input.index + 1} transcript:\n${input.transcript}` }],
        schema: z.object({ summary: z.string().min(1) }),
        schemaName: 'slice_summary',
        maxOutputTokens: 300,
      }),
    }),
  },
  output: ({ context }: { context: Context }) => ({ index: context.index, summary: context.summary }),
};

export default implementation;
