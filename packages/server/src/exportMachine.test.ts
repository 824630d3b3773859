import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateMachine } from 'xstate';
import { machineNames, machineToMermaid, machineToTypeScript } from './exportMachine.js';

const writer = JSON.parse(readFileSync(new URL('../../../machines/writer.machine.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Imports generated TypeScript as a module (through tsx, as a user's project would compile it). */
async function load(source: string): Promise<Record<string, unknown>> {
  // Inside the repo's node_modules, so `import 'xstate'` resolves as in a user's project.
  const dir = join(fileURLToPath(new URL('../../../node_modules', import.meta.url)), '.cache');
  mkdirSync(dir, { recursive: true });
  const file = join(mkdtempSync(join(dir, 'spine-export-')), 'machine.ts');
  writeFileSync(file, source);
  try {
    return (await tsImport(file, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`importing the export failed: ${String((error as Error).message)}`);
  }
}

describe('exporting a machine', () => {
  it('writes TypeScript whose setup().createMachine() is the same machine, with every named implementation stubbed', async () => {
    const source = machineToTypeScript('writer', writer);
    expect(source).toMatch(/^\/\/ Exported by Spine from "writer\.machine\.json"/);
    expect(source).toContain("import { fromPromise, setup } from 'xstate';");
    expect(source).toContain('export const writerMachine = setup({');
    const module = await load(source);
    const machine = module.writerMachine as AnyStateMachine;
    expect(machine.config.id).toBe(writer.id);
    expect(Object.keys(machine.root.states)).toEqual(Object.keys(writer.states as object));
    for (const action of machineNames(writer).actions) expect(machine.implementations.actions).toHaveProperty([action]);
  });

  it('keeps hostile names as data: a state, event or action named like code neither breaks out of TypeScript nor Mermaid', async () => {
    const evil = '"});process.exitCode=9;//';
    const config = {
      id: 'evil',
      initial: evil,
      states: { [evil]: { entry: [evil], on: { [`go: ${evil}`]: { target: 'end', guard: 'is"ok' } } }, end: { type: 'final' } },
    };
    const module = await load(machineToTypeScript('evil', config));
    expect(process.exitCode).toBeUndefined();
    const actor = createActor(module.evilMachine as AnyStateMachine).start();
    expect(actor.getSnapshot().value).toBe(evil);
    actor.send({ type: `go: ${evil}` });
    expect(actor.getSnapshot().status).toBe('done');

    const mermaid = machineToMermaid(config);
    expect(mermaid).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> s0',
        '  state "#34;#125;)#59;process.exitCode=9#59;//" as s0',
        '  state "end" as s1',
        '  s1 --> [*]',
        '  s0 --> s1 : go#58; #34;#125;)#59;process.exitCode=9#59;// #91;is#34;ok#93;',
        '',
      ].join('\n'),
    );
  });

  it('draws nested states, delays, invoke results and guards in Mermaid', () => {
    const mermaid = machineToMermaid({
      id: 'order',
      initial: 'open',
      states: {
        open: { on: { 'order.placed': 'charging' }, after: { 5000: 'expired' } },
        charging: { initial: 'trying', states: { trying: { invoke: { src: 'charge', onDone: '#order.paid', onError: 'failed' } }, failed: { always: { target: 'trying', guard: 'canRetry' } } } },
        paid: { type: 'final' },
        expired: { type: 'final' },
      },
    });
    expect(mermaid).toContain('  state s1 {\n    [*] --> s2\n    state "trying" as s2\n    state "failed" as s3\n  }');
    expect(mermaid).toContain('  s0 --> s1 : order.placed');
    expect(mermaid).toContain('  s0 --> s5 : after 5000ms');
    expect(mermaid).toContain('  s2 --> s4 : done#58; charge');
    expect(mermaid).toContain('  s2 --> s3 : error#58; charge');
    expect(mermaid).toContain('  s3 --> s2 : always #91;canRetry#93;');
  });
});
