import type { MachineNames } from '@spine/runtime';

/**
 * The `<name>.ts` written beside a machine created in the studio: a stub for
 * every name its structure uses, so the machines directory keeps loading, and a
 * clear failure (a terminal activity error, a guard that never passes) wherever
 * a stub is reached before someone writes the real implementation.
 */
export function scaffoldImplementation(machine: string, names: MachineNames): string {
  const q = (name: string) => JSON.stringify(name);
  const ident = machine.replace(/[-_]+(.)/g, (_, c: string) => c.toUpperCase()).replace(/^[^A-Za-z_$]/, '_');
  const lines = [
    "import { defineActivity, TerminalError, type MachineImplementation } from '@spine/runtime';",
    "import { z } from 'zod';",
    '',
    `// Implementations of ${machine}.machine.json, stubbed by the Spine studio when the machine was created.`,
    '// Replace each stub with the real thing (the editor lists the names still missing), then restart `spine serve`.',
    `const ${ident}: MachineImplementation = {`,
    '  schemas: {',
    '    events: {',
    ...names.events.map((e) => `      ${q(e)}: z.object({}), // TODO: the payload of ${e}`),
    '    },',
    '  },',
    '  context: () => ({}),',
    '  actions: {',
    ...names.actions.map((a) => `    ${q(a)}: () => {}, // TODO`),
    '  },',
    '  guards: {',
    ...names.guards.map((g) => `    ${q(g)}: () => false, // TODO: never passes until implemented`),
    '  },',
    '  delays: {',
    ...names.delays.map((d) => `    ${q(d)}: 60_000, // TODO: milliseconds`),
    '  },',
    '  activities: {',
    ...names.activities.map(
      (a) => `    ${q(a)}: defineActivity({\n      async run() {\n        throw new TerminalError(${q(`${machine}: activity '${a}' is not implemented yet`)});\n      },\n    }),`,
    ),
    '  },',
    '};',
    '',
    `export default ${ident};`,
    '',
  ];
  return lines.join('\n');
}
