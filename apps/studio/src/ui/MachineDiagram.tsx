import { BaseEdge, Controls, getSmoothStepPath, Handle, MiniMap, Position, ReactFlow, useNodesInitialized, useReactFlow, useStore, type Edge, type EdgeProps, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useEffect, useMemo, useState } from 'react';
import { layoutGraph, type PlacedNode } from '../model/layoutGraph.js';
import { placeEdgeLabels } from '../model/placeEdgeLabels.js';
import { activeStateIds, machineGraph, type GraphNode } from '../model/machineGraph.js';

type StateData = { node: GraphNode; active: boolean; failed: boolean };

const StateNode = memo(function StateNode({ data }: NodeProps<Node<StateData>>) {
  const { node, active, failed } = data;
  const compound = node.kind === 'compound' || node.kind === 'parallel';
  return (
    <div
      className={`state ${node.kind} ${active ? 'lit' : ''} ${active && failed ? 'failed' : ''} ${node.initial ? 'initial' : ''}`}
      data-testid="state-node"
      data-state-id={node.id}
      data-active={active ? 'true' : 'false'}
      data-tone={active ? (failed ? 'failed' : 'ok') : undefined}
    >
      <Handle type="target" position={Position.Left} />
      <div className="state-label">{node.label}</div>
      {!compound && node.invokes.map((i) => <div key={i} className="state-line">⚙ {i}</div>)}
      {!compound && node.handles.map((h) => <div key={h} className="state-line">↻ {h}</div>)}
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { state: StateNode };

type LabelledEdge = Edge<{ labelAt?: { x: number; y: number } }>;

/** A smooth-step edge whose label sits where `placeEdgeLabels` put it (clear of the other labels). */
function PlacedLabelEdge(props: EdgeProps<LabelledEdge>) {
  const [path, midX, midY] = getSmoothStepPath(props);
  const at = props.data?.labelAt;
  return (
    <BaseEdge
      id={props.id}
      path={path}
      {...(props.markerEnd ? { markerEnd: props.markerEnd } : {})}
      {...(props.style ? { style: props.style } : {})}
      label={props.label}
      labelX={at?.x ?? midX}
      labelY={at?.y ?? midY}
      labelBgPadding={[4, 2]}
      labelBgBorderRadius={3}
      {...(props.labelStyle ? { labelStyle: props.labelStyle } : {})}
    />
  );
}

const edgeTypes = { placed: PlacedLabelEdge };

/**
 * Fits the whole machine when it stays legible (zoom >= MIN_FIT_ZOOM); a larger machine is shown
 * at a legible zoom centred on its lit states instead (pan, zoom or use the minimap for the rest).
 */
function FitLegibly({ bounds, lit }: { bounds: { width: number; height: number }; lit: string }) {
  const flow = useReactFlow();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  const ready = useNodesInitialized({ includeHiddenNodes: true });
  useEffect(() => {
    if (!ready || !width || !height || !bounds.width) return;
    const whole = Math.min(width / (bounds.width * 1.3), height / (bounds.height * 1.3));
    const ids = lit ? lit.split(' ') : [];
    if (whole >= MIN_FIT_ZOOM || !ids.length) void flow.fitView({ padding: 0.15, maxZoom: 1.2, minZoom: Math.min(MIN_FIT_ZOOM, whole) });
    else void flow.fitView({ nodes: ids.map((id) => ({ id })), padding: 0.6, minZoom: MIN_FIT_ZOOM, maxZoom: 0.9 });
  }, [flow, ready, width, height, bounds, lit]);
  return null;
}

/** The smallest zoom a fit may choose: 13 px labels stay at least ~8 px on screen. */
export const MIN_FIT_ZOOM = 0.62;

/** Final states whose name says the run did not succeed: lit red, not green. */
const FAILURE_NAME = /(^|[._-])(fail|failed|failure|error|errored|rejected|declined|aborted|halted)$/i;

/**
 * A machine's diagram, laid out with ELK and drawn with React Flow; the states
 * active in `value` are lit (red when `failed`, or when a lit final state is named as a
 * failure). Zoom controls and a minimap; fitting never shrinks labels below legibility
 * (a large machine is fitted at a readable zoom and panned instead).
 */
export function MachineDiagram({ config, value, label, failed = false }: { config: unknown; value: unknown; label: string; failed?: boolean }) {
  const graph = useMemo(() => machineGraph(config), [config]);
  const [layout, setLayout] = useState<Map<string, PlacedNode> | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let current = true;
    setLayout(undefined);
    layoutGraph(graph.nodes, graph.edges)
      .then((placed) => current && setLayout(placed))
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [graph]);
  const active = useMemo(() => activeStateIds(graph.machineId, value), [graph, value]);
  const nodes = useMemo<Node<StateData>[]>(
    () =>
      layout
        ? graph.nodes.map((node) => {
            const p = layout.get(node.id) ?? { x: 0, y: 0, width: 120, height: 40 };
            return {
              id: node.id,
              type: 'state',
              position: { x: p.x, y: p.y },
              ...(node.parent ? { parentId: node.parent } : {}),
              data: { node, active: active.has(node.id), failed: failed || (node.kind === 'final' && FAILURE_NAME.test(node.label)) },
              // Fixed sizes (from the layout) also tell React Flow the nodes are measured, for the legible fit.
              width: p.width,
              height: p.height,
              style: { width: p.width, height: p.height },
              draggable: false,
              selectable: false,
            };
          })
        : [],
    [graph, layout, active, failed],
  );
  const labels = useMemo(() => (layout ? placeEdgeLabels(graph.edges, layout, new Map(graph.nodes.map((n) => [n.id, n.parent]))) : undefined), [graph, layout]);
  const edges = useMemo<LabelledEdge[]>(
    () =>
      graph.edges.map((e) => {
        const at = labels?.get(e.id);
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          label: e.label,
          type: 'placed',
          className: active.has(e.source) ? 'edge-possible' : '',
          animated: active.has(e.source),
          ...(at ? { data: { labelAt: at } } : {}),
        };
      }),
    [graph, active, labels],
  );
  const bounds = useMemo(() => {
    let width = 0;
    let height = 0;
    for (const node of graph.nodes) {
      const p = layout?.get(node.id);
      if (!p || node.parent) continue;
      width = Math.max(width, p.x + p.width);
      height = Math.max(height, p.y + p.height);
    }
    return { width, height };
  }, [graph, layout]);
  // The deepest lit states (a lit compound state is implied by its lit child).
  const lit = useMemo(() => graph.nodes.filter((n) => active.has(n.id) && !graph.nodes.some((c) => c.parent === n.id && active.has(c.id))).map((n) => n.id).join(' '), [graph, active]);
  return (
    <div className="diagram" data-testid="diagram" data-active-states={[...active].join(' ')} data-failed={failed ? 'true' : 'false'} aria-label={`State diagram of ${label}`}>
      {error && <p className="error pad">Could not lay out the diagram: {error}</p>}
      {!layout && !error && <p className="muted pad">Laying out {label}…</p>}
      {layout && (
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          minZoom={0.2}
        >
          <FitLegibly bounds={bounds} lit={lit} />
          <Controls showInteractive={false} position="bottom-left" aria-label="Zoom" />
          <MiniMap pannable zoomable position="bottom-right" ariaLabel="Minimap" style={{ width: 140, height: 90, opacity: 0.85 }} nodeColor={(n) => ((n.data as StateData).active ? ((n.data as StateData).failed ? '#ef4444' : '#10b981') : '#d1d5db')} />
        </ReactFlow>
      )}
    </div>
  );
}
