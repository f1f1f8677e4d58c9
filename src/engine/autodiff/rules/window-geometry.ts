/**
 * Geometry of sliding-window operators (Conv, MaxPool, AveragePool) and the ConvTranspose
 * attributes that scatter an output-sized gradient back onto the input grid.
 */
import { attrInts, attrString } from '../../graph/attributes.js';
import { resolvePads } from '../../graph/shape-inference.js';
import type { Attribute, Shape } from '../../graph/types.js';
import type { GradContext } from '../context.js';

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Explicit [begin..., end...] pads with auto_pad resolved. */
  pads: number[];
  /** Spatial sizes of the node's input 0 and output 0. */
  inSize: number[];
  outSize: number[];
}

function spatialSizes(c: GradContext, shape: Shape, rank: number, what: string): number[] {
  const s = shape.slice(shape.length - rank);
  if (s.length !== rank || !s.every((d): d is number => typeof d === 'number')) {
    c.fail(`the ${what} needs fixed spatial dimensions for its gradient, got [${shape.join(', ')}]`);
  }
  return s as number[];
}

/** Read the window attributes of the rule's node; `kernel` comes from kernel_shape or the weight. */
export function windowGeometry(c: GradContext, kernel: number[]): WindowGeometry {
  const node = c.node;
  const r = kernel.length;
  const x = c.shape(node.inputs[0]!);
  const inSize = spatialSizes(c, x, r, 'input');
  const outSize = spatialSizes(c, c.shape(node.outputs[0]!), r, 'output');
  const strides = attrInts(node, 'strides', new Array(r).fill(1));
  const dilations = attrInts(node, 'dilations', new Array(r).fill(1));
  // onnxruntime sizes SAME padding from the undilated kernel (pools) or refuses it (Conv),
  // unlike the ONNX spec that shape inference follows: the sizes could not be trusted.
  if (attrString(node, 'auto_pad', 'NOTSET').startsWith('SAME') && dilations.some((d) => d !== 1)) {
    c.fail('auto_pad SAME_UPPER/SAME_LOWER with dilations is not supported');
  }
  const pads = resolvePads(node, x, kernel, strides, dilations);
  return { kernel, strides, dilations, pads, inSize, outSize };
}

/**
 * ConvTranspose attributes whose output has exactly the forward input's spatial size.
 * The full transposed output spans (out-1)*s + (k-1)*d + 1 positions starting at -pad_begin;
 * cropping pad_begin in front and whatever overhangs the input at the end (the end pad, or
 * the windows ceil_mode added) leaves the input grid; positions no window reached (floor
 * division dropped them) are added back as output_padding, which ConvTranspose fills with zeros.
 */
export function transposeAttributes(g: WindowGeometry): Record<string, Attribute> {
  const r = g.kernel.length;
  const begin = g.pads.slice(0, r);
  const end: number[] = [];
  const outputPadding: number[] = [];
  for (let i = 0; i < r; i++) {
    const full = (g.outSize[i]! - 1) * g.strides[i]! + (g.kernel[i]! - 1) * g.dilations[i]! + 1;
    const overhang = full - begin[i]! - g.inSize[i]!;
    end.push(Math.max(0, overhang));
    outputPadding.push(Math.max(0, -overhang));
  }
  return {
    kernel_shape: { type: 'ints', value: g.kernel },
    strides: { type: 'ints', value: g.strides },
    dilations: { type: 'ints', value: g.dilations },
    pads: { type: 'ints', value: [...begin, ...end] },
    output_padding: { type: 'ints', value: outputPadding },
  };
}
