/**
 * Dragging a state: while the pointer moves, positions are transient (drawn,
 * not part of the document or its undo history); on release the final
 * position is committed as one undoable move. A small state machine.
 */
export type DragToolState = { name: 'idle' } | { name: 'dragging'; id: string; origin: { x: number; y: number }; current: { x: number; y: number } };

/** Input to the tool. */
export type DragToolEvent =
  | { type: 'start'; id: string; position: { x: number; y: number } }
  | { type: 'move'; id: string; position: { x: number; y: number } }
  | { type: 'end'; id: string; position: { x: number; y: number } }
  | { type: 'cancel' };

/** The tool's next state, and the move to commit when a drag ended somewhere new. */
export function stepDragTool(state: DragToolState, event: DragToolEvent): { state: DragToolState; commit?: { id: string; position: { x: number; y: number } } } {
  switch (event.type) {
    case 'start':
      return { state: { name: 'dragging', id: event.id, origin: event.position, current: event.position } };
    case 'move':
      if (state.name !== 'dragging' || state.id !== event.id) return { state: { name: 'dragging', id: event.id, origin: event.position, current: event.position } };
      return { state: { ...state, current: event.position } };
    case 'end': {
      // An end without a drag of this state (a click, or a second report of the same drop) moves nothing.
      if (state.name !== 'dragging' || state.id !== event.id) return { state: { name: 'idle' } };
      const moved = state.origin.x !== event.position.x || state.origin.y !== event.position.y;
      return { state: { name: 'idle' }, ...(moved ? { commit: { id: event.id, position: event.position } } : {}) };
    }
    case 'cancel':
      return { state: { name: 'idle' } };
  }
}
