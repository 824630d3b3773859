import { createLlmEnvironment, modelActivity, type ModelStep } from '@spine/llm';
import { defineActivity, type MachineImplementation } from '@spine/runtime';
import { assign, enqueueActions } from 'xstate';
import { z } from 'zod';
import { wavLayout } from './wav.js';

// The visit supervisor: cuts the recording into slices, fans out one `segment` child agent per
// slice (all running at once, each its own durable actor), joins when the last one reports,
// and writes the after-visit report with one model call.

const slice = z.object({ index: z.number().int().min(0), offset: z.number().int(), length: z.number().int().positive() });
const summarized = z.object({ index: z.number().int().min(0), transcript: z.string(), summary: z.string() });

/** The report's shape (the model answers with this JSON). */
export const reportSchema = z.object({ title: z.string().min(1), summary: z.string().min(1), followUps: z.array(z.string()) });

export const visitContext = z.object({
  audioPath: z.string(),
  slices: z.number().int().positive(),
  fmt: z.string(),
  parts: z.array(slice),
  segments: z.record(z.string(), summarized),
  report: reportSchema.nullable(),
  error: z.string().nullable(),
});
type Context = z.infer<typeof visitContext>;

export const REPORTER_SYSTEM =
  'You are the visit reporter. From the slice summaries of one clinical visit, in order, write the after-visit report for the patient. ' +
  'Answer with JSON {"title": "...", "summary": "...", "followUps": ["..."]}.';

const llm = createLlmEnvironment();

const implementation: MachineImplementation = {
  schemas: {
    input: z.object({ audioPath: z.string().min(1), slices: z.number().int().min(1).max(64).default(4) }),
    context: visitContext,
    events: { 'segment.summarized': summarized, 'segment.failed': z.object({ index: z.number().int(), reason: z.string() }) },
  },
  context: (input: { audioPath: string; slices: number }): Context => ({ audioPath: input.audioPath, slices: input.slices, fmt: '', parts: [], segments: {}, report: null, error: null }),
  actions: {
    saveSlices: assign(({ event }: any) => ({ parts: event.output.parts, fmt: event.output.fmt })),
    spawnSegments: enqueueActions(({ context, enqueue }: { context: Context; enqueue: any }) => {
      for (const part of context.parts) {
        enqueue.spawnChild('segment', { id: `segment-${part.index}`, input: { audioPath: context.audioPath, fmt: context.fmt, ...part } });
      }
    }),
    saveSegment: assign({ segments: ({ context, event }: any) => ({ ...context.segments, [String(event.index)]: { index: event.index, transcript: event.transcript, summary: event.summary } }) }),
    saveSegmentError: assign({ error: ({ event }: any) => `slice ${event.index}: ${event.reason}` }),
    saveReport: assign({ report: ({ event }: any) => (event.output as ModelStep<z.infer<typeof reportSchema>>).object ?? null }),
    saveError: assign({ error: ({ event }: any) => String(event.error?.message ?? event.error) }),
  },
  guards: {
    // The join: this event completes the set (a repeated report of the same slice does not count twice).
    lastSegment: ({ context, event }: any) => Object.keys({ ...context.segments, [String(event.index)]: true }).length === context.parts.length,
  },
  activities: {
    cutAudio: defineActivity({
      mapInput: ({ context }) => ({ audioPath: context.audioPath, slices: context.slices }),
      async run(input: { audioPath: string; slices: number }) {
        const layout = wavLayout(input.audioPath);
        const frames = Math.floor(layout.dataLength / layout.blockAlign);
        const per = Math.ceil(frames / input.slices);
        const parts = [];
        for (let i = 0; i * per < frames; i++) {
          const start = i * per;
          parts.push({ index: i, offset: layout.dataOffset + start * layout.blockAlign, length: Math.min(per, frames - start) * layout.blockAlign });
        }
        return { parts, fmt: layout.fmt };
      },
    }),
    writeReport: modelActivity({
      agent: 'reporter',
      llm,
      model: { 'openai-compatible': 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' },
      mapInput: ({ context }: { context: Context }) => ({
        summaries: Object.values(context.segments)
          .sort((a, b) => a.index - b.index)
          .map((s) => s.summary),
      }),
      request: ({ input }) => ({
        system: REPORTER_SYSTEM,
        messages: [{ role: 'user', content: input.summaries.map((s: string, i: number) => `Slice ${i + 1}: ${s}`).join('\n') }],
        schema: reportSchema,
        schemaName: 'after_visit_report',
        maxOutputTokens: 800,
      }),
    }),
  },
  output: ({ context }: { context: Context }) => ({ report: context.report, slices: context.parts.length, summaries: Object.values(context.segments).sort((a, b) => a.index - b.index).map((s) => s.summary), error: context.error }),
};

export default implementation;
