/**
 * The "draw a transition" tool: pick a source state, then a target state.
 * A small state machine the editor steps with pointer and keyboard input; it
 * owns no document state, it only says when a transition should be added.
 */
export type ConnectToolState = { name: 'idle' } | { name: 'pickSource' } | { name: 'pickTarget'; source: string[] };

/** Input to the tool. */
export type ConnectToolEvent = { type: 'start'; source?: string[] } | { type: 'pick'; path: string[] } | { type: 'cancel' };

/** The tool's next state, and the transition to add when a target was picked. */
export function stepConnectTool(state: ConnectToolState, event: ConnectToolEvent): { state: ConnectToolState; connect?: { from: string[]; to: string[] } } {
  switch (event.type) {
    case 'start':
      return { state: event.source ? { name: 'pickTarget', source: event.source } : { name: 'pickSource' } };
    case 'cancel':
      return { state: { name: 'idle' } };
    case 'pick':
      if (state.name === 'pickSource') return { state: { name: 'pickTarget', source: event.path } };
      if (state.name === 'pickTarget') return { state: { name: 'idle' }, connect: { from: state.source, to: event.path } };
      return { state };
  }
}

/** What the tool asks of the user, for the toolbar. */
export function connectToolHint(state: ConnectToolState): string | undefined {
  if (state.name === 'pickSource') return 'Click the state the transition leaves from (Esc cancels).';
  if (state.name === 'pickTarget') return `Click the state the transition from '${state.source.join('.')}' goes to (Esc cancels).`;
  return undefined;
}
