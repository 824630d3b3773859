import { readFileSync } from 'node:fs';
import { defineMachine, type MachineConfigJson, type MachineDefinition } from '@spine/runtime';
import type { PipelineOptions } from './options.js';
import { researcher } from './researcher.js';
import { supervisor } from './supervisor.js';
import { verifier } from './verifier.js';
import { writer } from './writer.js';

export type { PipelineOptions } from './options.js';

const factories = { supervisor, researcher, writer, verifier };

/** The pipeline's machine names. */
export const pipelineNames = Object.keys(factories) as (keyof typeof factories)[];

/**
 * The pipeline's machines built with some options: what tests and embedders register instead
 * of the directory's defaults (`spine run` loads `<name>.machine.json` + `<name>.ts` itself).
 *
 * @example
 * const runtime = createRuntime({ store, machines: pipelineMachines({ llm: createLlmEnvironment({ env: { OPENAI_BASE_URL, SPINE_MODEL: 'scripted' } }) }) });
 */
export function pipelineMachines(options: PipelineOptions = {}): MachineDefinition[] {
  return pipelineNames.map((name) =>
    defineMachine({ ...factories[name](options), name, config: machineConfig(name) }),
  );
}

/** The JSON structure of one of the pipeline's machines. */
export function machineConfig(name: string): MachineConfigJson {
  return JSON.parse(readFileSync(new URL(`./${name}.machine.json`, import.meta.url), 'utf8')) as MachineConfigJson;
}
