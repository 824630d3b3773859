import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { faultKinds, type FaultKind, type FaultPlan } from './faults.js';
import { parseScript } from './parseScript.js';
import type { Script } from './Script.js';
import { ScriptedModelError } from './ScriptedModelError.js';
import type { ScriptedModelServer, ScriptedModelServerOptions } from './ScriptedModelServer.js';
import { startScriptedModelServer } from './startScriptedModelServer.js';

/** The usage text of the `spine-scripted-model` command. */
export const usage = `Usage: spine-scripted-model [--script FILE.json] [--port N] [--host H]
                            [--latency-ms N] [--chunk-delay-ms N] [--stall-ms N] [--context-window N] [--api-key K]
                            [--fault-rate R --fault-seed S [--fault-kinds a,b]]

Serves OpenAI Chat Completions at http://<host>:<port>/v1 from a JSON script of rules.
It is a scripted stand-in for tests and offline demos, not a model: it answers only what the
script says, and a request no rule matches gets a 400 saying so.
Prints the base URL on stdout; point OPENAI_BASE_URL at it. Stop it with Ctrl-C.

Fault kinds: ${faultKinds.join(', ')}`;

/**
 * Runs the `spine-scripted-model` command with `argv` (without node and the script path): starts
 * the server and prints its base URL to `out`; throws a {@link ScriptedModelError} on bad arguments.
 */
export async function runCli(argv: readonly string[], out: (line: string) => void): Promise<ScriptedModelServer | undefined> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      script: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'latency-ms': { type: 'string' },
      'chunk-delay-ms': { type: 'string' },
      'stall-ms': { type: 'string' },
      'context-window': { type: 'string' },
      'api-key': { type: 'string' },
      'fault-rate': { type: 'string' },
      'fault-seed': { type: 'string' },
      'fault-kinds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(usage);
    return undefined;
  }

  const options: ScriptedModelServerOptions = {};
  if (values.host !== undefined) options.host = values.host;
  if (values.port !== undefined) options.port = number('--port', values.port);
  if (values['latency-ms'] !== undefined) options.latencyMs = number('--latency-ms', values['latency-ms']);
  if (values['chunk-delay-ms'] !== undefined) options.chunkDelayMs = number('--chunk-delay-ms', values['chunk-delay-ms']);
  if (values['stall-ms'] !== undefined) options.stallMs = number('--stall-ms', values['stall-ms']);
  if (values['context-window'] !== undefined) options.contextWindowTokens = number('--context-window', values['context-window']);
  if (values['api-key'] !== undefined) options.apiKey = values['api-key'];
  if (values.script !== undefined) options.script = await readScript(values.script);
  if (values['fault-rate'] !== undefined) {
    const plan: FaultPlan = {
      rate: number('--fault-rate', values['fault-rate']),
      seed: number('--fault-seed', values['fault-seed'] ?? '1'),
    };
    if (values['fault-kinds'] !== undefined) plan.kinds = values['fault-kinds'].split(',').map((k) => k.trim() as FaultKind);
    options.faults = plan;
  }

  const server = await startScriptedModelServer(options);
  out(server.url);
  return server;
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new ScriptedModelError('invalid_options', `${flag} expects a number, got ${JSON.stringify(text)}.`);
  }
  return value;
}

async function readScript(file: string): Promise<Script> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScriptedModelError('invalid_options', `Cannot read the script file ${file}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScriptedModelError('invalid_script', `The script file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseScript(json);
  } catch (error) {
    if (error instanceof ScriptedModelError) {
      throw new ScriptedModelError(error.code, `${file}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
