/** Small graphs written by hand for engine and method tests. */
import type { Attribute, Graph, Node, Shape, TensorData } from '../../src/engine/graph/types.js';

/** A default-domain node. */
export function node(name: string, opType: string, inputs: string[], outputs: string[], attributes: Record<string, Attribute> = {}, domain = ''): Node {
  return { name, opType, domain, inputs, outputs, attributes };
}

/** An opset-17 graph with one float32 input `input` of shape `shape` and float32 outputs. */
export function graphOf(nodes: Node[], initializers: Record<string, TensorData>, input: [string, Shape], outputs: string[]): Graph {
  return {
    name: 'test',
    nodes,
    initializers: new Map(Object.entries(initializers)),
    inputs: [{ name: input[0], dataType: 'float32', shape: input[1] }],
    outputs: outputs.map((name) => ({ name, dataType: 'float32' })),
    valueInfo: new Map(),
    opset: 17,
    otherOpsets: [],
    irVersion: 8,
    producerName: 'test',
  };
}
