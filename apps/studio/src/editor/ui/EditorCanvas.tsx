import { Handle, MarkerType, Position, ReactFlow, useReactFlow, type Connection, type Edge, type Node, type NodeChange, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useCallback, useEffect, useMemo, useRef } from 'react';
import { edgeIssues, ROOT_NODE, type EditorNode } from '../editorGraph.js';
import { nodeLines, type Rect } from '../editorLayout.js';
import type { EditorState, MachineEditor } from '../MachineEditor.js';

type StateData = { node: EditorNode; issues: number; selected: boolean; source: boolean };

const EditorStateNode = memo(function EditorStateNode({ data }: NodeProps<Node<StateData>>) {
  const { node, issues, selected, source } = data;
  const compound = node.kind === 'compound' || node.kind === 'parallel';
  const classes = ['state', 'editor-state', node.kind, node.initial ? 'initial' : '', selected ? 'selected' : '', issues ? 'has-issue' : '', source ? 'connect-source' : ''];
  return (
    <div className={classes.join(' ')} data-testid="editor-state" data-path={node.id} data-issues={issues} title={issues ? `${issues} problem${issues === 1 ? '' : 's'}: see the list below` : undefined}>
      {node.id !== ROOT_NODE && <Handle type="target" position={Position.Left} />}
      <div className="state-label">{node.label}</div>
      {!compound && nodeLines(node).map((line, i) => <div key={i} className="state-line">{line}</div>)}
      {compound && node.kind === 'parallel' && <div className="state-line">parallel</div>}
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { editorState: EditorStateNode };

/** Fits the view to every state when the editor asks (after a layout or an added state). */
function FitView({ request }: { request: number }) {
  const flow = useReactFlow();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false; // the initial fit is ReactFlow's own `fitView`
      return;
    }
    const timer = setTimeout(() => void flow.fitView({ padding: 0.12, maxZoom: 1.2 }), 0);
    return () => clearTimeout(timer);
  }, [request, flow]);
  return null;
}

/**
 * The machine drawn with React Flow. It renders the editor's state and sends
 * input back: clicks select, a drag moves a state (transient until the drop),
 * a drag from a state's right handle to another state draws a transition.
 */
export function EditorCanvas({ editor, state }: { editor: MachineEditor; state: EditorState }) {
  const cache = useRef(new Map<string, { key: string; node: Node<StateData> }>());
  const selection = state.selection;
  const source = state.connect.name === 'pickTarget' ? state.connect.source.join('.') : undefined;
  const nodes = useMemo(() => {
    const next = new Map<string, { key: string; node: Node<StateData> }>();
    const out = state.nodes.map((node) => {
      const rect: Rect = state.rects.get(node.id) ?? { x: 0, y: 0, width: 120, height: 40 };
      const issues = state.issueIndex.byNode.get(node.id)?.length ?? 0;
      const selected = selection?.kind === 'state' && selection.path.join('.') === node.id;
      const isSource = source === node.id;
      const key = `${rect.x},${rect.y},${rect.width},${rect.height},${issues},${selected},${isSource}`;
      const cached = cache.current.get(node.id);
      if (cached && cached.key === key && cached.node.data.node === node) {
        next.set(node.id, cached);
        return cached.node;
      }
      const flowNode: Node<StateData> = {
        id: node.id,
        type: 'editorState',
        position: { x: rect.x, y: rect.y },
        ...(node.parentId ? { parentId: node.parentId } : {}),
        data: { node, issues, selected, source: isSource },
        width: rect.width,
        height: rect.height,
        style: { width: rect.width, height: rect.height },
        draggable: node.id !== ROOT_NODE,
        selectable: false,
        connectable: true,
      };
      next.set(node.id, { key, node: flowNode });
      return flowNode;
    });
    cache.current = next;
    return out;
  }, [state.nodes, state.rects, state.issueIndex, selection, source]);

  const edges = useMemo<Edge[]>(
    () =>
      state.edges.map((e) => {
        const issues = edgeIssues(state.issueIndex, e).length;
        const selected =
          selection?.kind === 'transition' &&
          selection.state.join('.') === e.element.state.join('.') &&
          selection.ref.source === e.element.transition.source &&
          selection.ref.key === e.element.transition.key &&
          selection.ref.invoke === e.element.transition.invoke &&
          selection.ref.index === e.element.transition.index;
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          label: e.label,
          type: e.source === e.target ? 'default' : 'smoothstep',
          className: [issues ? 'edge-issue' : '', selected ? 'edge-selected' : ''].join(' '),
          markerEnd: { type: MarkerType.ArrowClosed },
          labelBgPadding: [4, 2] as [number, number],
          interactionWidth: 16,
          data: { element: e.element },
        };
      }),
    [state.edges, state.issueIndex, selection],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<Node<StateData>>[]) => {
      for (const change of changes) {
        // Moves while dragging; the drop is reported once, by onNodeDragStop.
        if (change.type === 'position' && change.position && change.dragging) editor.drag({ type: 'move', id: change.id, position: change.position });
      }
    },
    [editor],
  );
  const onNodeDragStop = useCallback((_: unknown, node: Node) => editor.drag({ type: 'end', id: node.id, position: node.position }), [editor]);
  const onNodeDragStart = useCallback((_: unknown, node: Node) => editor.drag({ type: 'start', id: node.id, position: node.position }), [editor]);
  const onConnect = useCallback(
    (connection: Connection) => {
      if (connection.source === ROOT_NODE || !connection.source || !connection.target || connection.target === ROOT_NODE) return;
      editor.addTransition(connection.source.split('.'), connection.target.split('.'));
    },
    [editor],
  );
  const onNodeClick = useCallback(
    (_: unknown, node: Node) => {
      if (node.id !== ROOT_NODE) editor.select({ kind: 'state', path: node.id.split('.') });
    },
    [editor],
  );
  const onEdgeClick = useCallback(
    (_: unknown, edge: Edge) => {
      const element = (edge.data as { element: { state: string[]; transition: { source: never; index: number } } }).element;
      editor.select({ kind: 'transition', state: element.state, ref: element.transition });
    },
    [editor],
  );
  const onPaneClick = useCallback(() => editor.select(null), [editor]);

  return (
    <div className="editor-canvas diagram" data-testid="editor-canvas" data-layout-ms={state.layoutMs ?? ''}>
      {!state.laidOut && <p className="muted pad">Laying out {state.name}…</p>}
      {state.laidOut && (
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          onNodeDragStart={onNodeDragStart}
          onNodeDragStop={onNodeDragStop}
          onConnect={onConnect}
          onNodeClick={onNodeClick}
          onEdgeClick={onEdgeClick}
          onPaneClick={onPaneClick}
          fitView
          fitViewOptions={{ padding: 0.12, maxZoom: 1.2 }}
          minZoom={0.1}
          deleteKeyCode={null}
          selectionKeyCode={null}
          multiSelectionKeyCode={null}
          elementsSelectable={false}
          nodesConnectable
          nodesDraggable
        >
          <FitView request={state.fitRequest} />
        </ReactFlow>
      )}
    </div>
  );
}
