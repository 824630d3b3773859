import type { Tool, ToolContext } from './defineTool.js';
import { ConfigError, ToolNotAllowedError } from './errors.js';

/** A refused tool call, kept for the run's record. */
export interface ToolRefusal {
  tool: string;
  agent: string;
}

/**
 * The tools one agent may use (least privilege): anything not granted is refused with
 * `ToolNotAllowedError`, and the refusal is recorded in `refusals`.
 */
export class ToolRegistry {
  readonly agent: string;
  readonly refusals: ToolRefusal[] = [];
  private readonly granted: ReadonlyMap<string, Tool>;

  constructor(agent: string, tools: readonly Tool[]) {
    this.agent = agent;
    const map = new Map<string, Tool>();
    for (const tool of tools) {
      if (map.has(tool.name)) throw new ConfigError(`Tool "${tool.name}" is granted to agent "${agent}" twice.`);
      map.set(tool.name, tool);
    }
    this.granted = map;
  }

  /** The granted tools, in grant order; pass them to the model. */
  list(): Tool[] {
    return [...this.granted.values()];
  }

  /** The granted tool names. */
  names(): string[] {
    return [...this.granted.keys()];
  }

  /** Whether the agent may call this tool. */
  has(name: string): boolean {
    return this.granted.has(name);
  }

  /**
   * The granted tool of that name.
   *
   * @throws ToolNotAllowedError (terminal) when it was not granted; the refusal is recorded.
   */
  get(name: string): Tool {
    const tool = this.granted.get(name);
    if (!tool) {
      this.refusals.push({ tool: name, agent: this.agent });
      throw new ToolNotAllowedError({ tool: name, agent: this.agent, allowed: this.names() });
    }
    return tool;
  }

  /** Calls a granted tool (`get`, then `tool.call`). */
  call(name: string, input: unknown, context: ToolContext): Promise<unknown> {
    return this.get(name).call(input, context);
  }
}

/**
 * Grants an agent a subset of all tools by name.
 *
 * @throws ConfigError when a granted name is not among `allTools` (a typo would otherwise silently
 *   take a tool away).
 * @example
 * ```ts
 * const tools = grantTools([search, sendEmail, lookupOrder], ['search', 'lookup_order'], { agent: 'researcher' });
 * tools.get('send_email'); // throws ToolNotAllowedError
 * ```
 */
export function grantTools(
  allTools: readonly Tool[],
  allowedNames: readonly string[],
  options: { agent: string },
): ToolRegistry {
  const byName = new Map(allTools.map((tool) => [tool.name, tool]));
  const unknown = allowedNames.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new ConfigError(
      `Agent "${options.agent}" is granted unknown tools: ${unknown.map((n) => `"${n}"`).join(', ')}. ` +
        `Known tools: ${[...byName.keys()].map((n) => `"${n}"`).join(', ') || 'none'}.`,
    );
  }
  return new ToolRegistry(
    options.agent,
    [...new Set(allowedNames)].map((name) => byName.get(name)!),
  );
}
