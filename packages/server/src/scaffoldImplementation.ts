import { eventNameProblem, implementationNameProblem, SpineError, type MachineNames } from '@spine/runtime';

/** A machine name as the editor accepts it (the file names are built from it). */
const MACHINE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * The `<name>.ts` written beside a machine created in the studio: a stub for
 * every name its structure uses, so the machines directory keeps loading, and a
 * clear failure (a terminal activity error, a guard that never passes) wherever
 * a stub is reached before someone writes the real implementation.
 *
 * Every name comes from a request, so each is checked against the runtime's name
 * grammar first and only ever written as a `JSON.stringify` string literal: never
 * inside a comment, never as an identifier or bare code.
 *
 * @throws SpineError `invalid_machine` when a name is outside the grammar (nothing is generated).
 */
export function scaffoldImplementation(machine: string, names: MachineNames): string {
  const problems = [
    ...(MACHINE_NAME.test(machine) ? [] : [`machine name ${JSON.stringify(machine)} is not a letter followed by letters, digits, - or _`]),
    ...names.events.map((e) => eventNameProblem(e)),
    ...names.actions.map((a) => implementationNameProblem(a, 'action name')),
    ...names.guards.map((g) => implementationNameProblem(g, 'guard name')),
    ...names.delays.map((d) => implementationNameProblem(d, 'delay name')),
    ...names.activities.map((a) => implementationNameProblem(a, 'activity name')),
  ].filter((p): p is string => p !== undefined);
  if (problems.length) {
    throw new SpineError('invalid_machine', `No implementation stub was written for machine ${JSON.stringify(machine)}: ${problems.join('; ')}`, { machine });
  }
  const q = (text: string) => JSON.stringify(text);
  const lines = [
    "import { defineActivity, TerminalError, type MachineImplementation } from '@spine/runtime';",
    "import { z } from 'zod';",
    '',
    '// Implementations of the machine beside this file, stubbed by the Spine studio when the machine was created.',
    '// Replace each stub with the real thing (the editor lists the names still missing), then restart `spine serve`.',
    'const implementation: MachineImplementation = {',
    '  schemas: {',
    '    events: {',
    '      // TODO: the payload of each event',
    ...names.events.map((e) => `      ${q(e)}: z.object({}),`),
    '    },',
    '  },',
    '  context: () => ({}),',
    '  actions: {',
    ...names.actions.map((a) => `    ${q(a)}: () => {}, // TODO`),
    '  },',
    '  guards: {',
    '    // TODO: each guard never passes until implemented',
    ...names.guards.map((g) => `    ${q(g)}: () => false,`),
    '  },',
    '  delays: {',
    '    // TODO: milliseconds',
    ...names.delays.map((d) => `    ${q(d)}: 60_000,`),
    '  },',
    '  activities: {',
    ...names.activities.map(
      (a) => `    ${q(a)}: defineActivity({\n      async run() {\n        throw new TerminalError(${q(`${machine}: activity '${a}' is not implemented yet`)});\n      },\n    }),`,
    ),
    '  },',
    '};',
    '',
    'export default implementation;',
    '',
  ];
  return lines.join('\n');
}
