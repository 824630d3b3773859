// A client process for startScriptedModelServer.aiSdk.test.ts: runs one scenario with the real
// Vercel AI SDK against the base URL it is given and prints what the SDK returned, as JSON.
// It runs in its own plain `node` process because the vitest workers resolve the `source` export
// condition, which some of the SDK's dependencies (eventsource-parser) point at TypeScript files.
//
// Usage: node aiSdkClient.fixture.mjs <scenario> <baseURL>
import { APICallError, Output, generateText, stepCountIs, streamText, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { z } from 'zod';

const [scenario, baseURL] = process.argv.slice(2);
const provider = (settings = {}) => createOpenAICompatible({ name: 'scripted', baseURL, apiKey: 'x', ...settings });

const scenarios = {
  async text() {
    const result = await generateText({
      model: provider()('scripted-test'),
      system: 'You answer geography questions.',
      prompt: 'What is the capital of France?',
      maxRetries: 0,
    });
    return { text: result.text, finishReason: result.finishReason, usage: result.usage, modelId: result.response.modelId };
  },

  async tools() {
    const cities = [];
    const result = await generateText({
      model: provider()('scripted-test'),
      prompt: 'Weather in Paris?',
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        get_weather: tool({
          description: 'Current weather of a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            cities.push(city);
            return { sky: 'sunny' };
          },
        }),
      },
    });
    return { cities, text: result.text, steps: result.steps.length, totalUsage: result.totalUsage };
  },

  async structured() {
    const result = await generateText({
      model: provider({ supportsStructuredOutputs: true })('scripted-test'),
      prompt: 'Name a capital.',
      maxRetries: 0,
      output: Output.object({ schema: z.object({ city: z.string(), country: z.string() }) }),
    });
    return { output: result.output };
  },

  async stream() {
    const result = streamText({ model: provider({ includeUsage: true })('scripted-test'), prompt: 'Stream something.', maxRetries: 0 });
    let text = '';
    let deltas = 0;
    for await (const delta of result.textStream) {
      text += delta;
      deltas++;
    }
    return { text, deltas, usage: await result.usage, finishReason: await result.finishReason };
  },

  async rateLimit() {
    try {
      await generateText({ model: provider()('scripted-test'), prompt: 'hi', maxRetries: 0 });
      return { error: null };
    } catch (error) {
      if (!APICallError.isInstance(error)) return { error: String(error) };
      return {
        error: {
          statusCode: error.statusCode,
          isRetryable: error.isRetryable,
          retryAfter: error.responseHeaders?.['retry-after'],
          message: error.message,
        },
      };
    }
  },
};

const run = scenarios[scenario];
if (run === undefined) {
  console.error(`unknown scenario ${scenario}; one of ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(await run()));
