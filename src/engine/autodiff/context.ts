/**
 * What a gradient rule sees and can do. A rule reads its forward node, the gradients that
 * flow into the node's outputs, and shapes; it emits ONNX nodes that compute the gradients
 * of the node's inputs, and declares them with `setGrad`.
 */
import type { Attribute, DataType, Node, Shape } from '../graph/types.js';

/**
 * Choices between backward graphs that compute the same gradient with different operators,
 * for backends that lack one (onnxruntime-web's WebGPU kernels do not return MaxPool's Indices).
 */
export interface RuleVariants {
  /**
   * 'indices' (default): scatter through MaxPool's Indices output. 'mask': recompute each
   * window's first maximum from `Equal(x, max)` per kernel offset, with the same tie rule.
   */
  maxPoolGradient?: 'indices' | 'mask';
  /**
   * 'grouped' (default): a depthwise Conv with a channel multiplier m >= 2 (one input channel
   * per group) gets one grouped ConvTranspose as its input gradient. 'split': m depthwise
   * ConvTransposes (one per multiplier slice of the output channels), summed. onnxruntime-web
   * 1.30's WebGPU ConvTranspose is wrong when a group has one output channel and an even
   * number of input channels, which is that grouped ConvTranspose for even m.
   */
  depthwiseGradient?: 'grouped' | 'split';
  /**
   * 'plain' (default): g where x > 0. 'guided' (Guided Backprop, Springenberg et al. 2015, as
   * Captum's GuidedBackprop): ReLU(g) where x > 0, so only positive gradients pass back.
   */
  reluGradient?: 'plain' | 'guided';
}

export interface GradContext {
  readonly node: Node;
  /** The variants chosen for this graph. */
  readonly variants: RuleVariants;
  /** Opset of the graph being written (>= 16 once the engine has prepared it). */
  readonly opset: number;
  /** Gradient tensor flowing into output i, or undefined when none does. */
  outputGrad(i: number): string | undefined;
  /** True when input i is on a path from a differentiated tensor (so it needs a gradient). */
  needsGrad(i: number): boolean;
  /** Static shape of a forward tensor (symbolic batch allowed); errors when unknown. */
  shape(tensor: string): Shape;
  /** Element type of a forward tensor. */
  dataType(tensor: string): DataType;
  /** Values of a constant (initializer or Constant) tensor, or undefined. */
  constant(tensor: string): number[] | undefined;
  /** Append a node; returns its output names (`outputs` of them, default 1). */
  emit(opType: string, inputs: string[], attrs?: Record<string, Attribute>, outputs?: number): string[];
  /** Append a single-output node and return its output. */
  op(opType: string, inputs: string[], attrs?: Record<string, Attribute>): string;
  /** A float32 constant tensor (same element type as the model's activations). */
  constFloat(values: ArrayLike<number>, dims?: number[]): string;
  /** An int64 constant tensor; a 1-D one by default. */
  constInt64(values: ArrayLike<number>, dims?: number[]): string;
  /**
   * Name of forward output i of this node, adding it when the model did not produce it
   * (for MaxPool's Indices). Rules may only ask for outputs ONNX defines for the op.
   */
  forwardOutput(i: number): string;
  /** Declare the gradient of input i. Several declarations for one tensor are summed. */
  setGrad(i: number, grad: string): void;
  /** Raise a clear error about this node (unsupported attribute value, ...). */
  fail(message: string): never;
}

/** A reverse-mode rule for one ONNX operator. */
export type GradRule = (ctx: GradContext) => void;
