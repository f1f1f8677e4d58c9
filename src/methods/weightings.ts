/**
 * RSI-Grad-CAM's channel weightings, one table entry each. A weighting turns what the path
 * integral gave at the layer into one weight per channel; cam = ReLU(sum_k w_k A_k(x)).
 * An entry may ask for extra integrals of a transformed gradient, sum rule(f(g_i), f(g_(i+1)))
 * * (A_(i+1) - A_i), accumulated alongside IG in the same pass (no extra model runs).
 *
 * The authors published two: their Keras code masks IG (`guided`), their PyTorch code
 * integrates ReLU(g) (`relu-grad`). Which is the default, and why, is measured in
 * docs/eval/README.md (issue 17), with `plain` and `pos-neg-0.5` and the candidates that
 * did not become options (tools/weighting-candidates.ts).
 */
import { OptionError } from '../errors.js';
import { spatialMean } from './cam.js';

/** What a weighting gets for one image; every array is [C, H*W] at the layer. */
export interface PathIntegrals {
  /** IG = sum rule(g) * dA: the Riemann-Stieltjes integral of d score / dA. */
  ig: Float32Array;
  /** The extra integrals the entry asked for, by the names of its `integrands`. */
  integrals: Record<string, Float32Array>;
  /** A(x) and A(x'): the activations at the image and at the baseline. */
  activations: Float32Array;
  baselineActivations: Float32Array;
  channels: number;
  hw: number;
}

export interface WeightingSpec {
  /** One line: what w_k is (CLI help, docs). */
  description: string;
  /** Gradient transforms to integrate besides IG, by name (e.g. ReLU for relu-grad). */
  integrands?: Record<string, (g: number) => number>;
  /** One weight per channel. */
  weights(p: PathIntegrals): Float32Array;
}

const relu = (g: number) => (g > 0 ? g : 0);

/**
 * The built-in weightings. Adding one is one entry here (or a registerWeighting call from
 * outside the library).
 */
const TABLE: Record<string, WeightingSpec> = {
  guided: {
    description: "the authors' Keras code: IG kept where A(x) > 0, IG > 0 and A(x) - A(x') > 0; w_k = spatial mean",
    weights: (p) => spatialMean(guidedMask(p.ig, p.activations, p.baselineActivations), p.channels, p.hw),
  },
  'relu-grad': {
    description: "the authors' PyTorch code: integrate ReLU(g) instead of g; w_k = spatial mean",
    integrands: { pos: relu },
    weights: (p) => spatialMean(p.integrals.pos!, p.channels, p.hw),
  },
  plain: {
    description: 'w_k = spatial mean of IG, signed',
    weights: (p) => spatialMean(p.ig, p.channels, p.hw),
  },
  // Evidence against the class counts at half weight: P - N/2 = (P + IG) / 2, the midpoint of
  // relu-grad's and plain's weights. Measured (issue 17): more class-sensitive and closer to
  // passing the randomisation check than relu-grad, localising within the interval of it.
  'pos-neg-0.5': {
    description: 'relu-grad minus half the negative part: w_k = spatial mean of int ReLU(g) dA - 1/2 int ReLU(-g) dA',
    integrands: { pos: relu, neg: (g) => (g < 0 ? -g : 0) },
    weights: (p) => {
      const pos = p.integrals.pos!;
      const neg = p.integrals.neg!;
      const d = new Float32Array(pos.length);
      for (let e = 0; e < d.length; e++) d[e] = pos[e]! - 0.5 * neg[e]!;
      return spatialMean(d, p.channels, p.hw);
    },
  },
};

/** The built-in weighting names. */
export type Weighting = 'guided' | 'relu-grad' | 'plain' | 'pos-neg-0.5';

/**
 * The default: the authors' PyTorch weighting. Measured on the 200 ImageNet photos and the
 * demo model, it localises as well as `guided` at the last conv layer and far better at an
 * earlier one (pointing game), with a lower Average Drop there. Its weights are never
 * negative, so like `guided` it fails the randomisation check and its maps change little with
 * the target class; `plain` passes both, at the cost of localisation at earlier layers, and
 * `pos-neg-0.5` lies between. Tables: docs/eval/README.md (issue 17).
 */
export const DEFAULT_WEIGHTING: Weighting = 'relu-grad';

/** Every weighting's name, the built-ins first, then registered ones. */
export const WEIGHTINGS: string[] = Object.keys(TABLE);

/** Adds a weighting under a new name (for experiments and users' own variants). */
export function registerWeighting(name: string, spec: WeightingSpec): void {
  if (Object.hasOwn(TABLE, name)) throw new OptionError(`weighting '${name}' exists already`);
  TABLE[name] = spec;
  WEIGHTINGS.push(name);
}

/** The entry of a weighting name; an unknown name is an OptionError listing the known ones. */
export function weightingSpec(name: string): WeightingSpec {
  const spec = Object.hasOwn(TABLE, name) ? TABLE[name] : undefined;
  if (!spec) throw new OptionError(`weighting must be one of ${WEIGHTINGS.join(', ')}, got '${String(name)}'`);
  return spec;
}

/** IG where A(x) > 0, IG > 0 and A(x) - A(x') > 0; zero elsewhere. */
export function guidedMask(ig: Float32Array, aX: Float32Array, a0: Float32Array): Float32Array {
  const out = new Float32Array(ig.length);
  for (let e = 0; e < ig.length; e++) {
    if (aX[e]! > 0 && ig[e]! > 0 && aX[e]! - a0[e]! > 0) out[e] = ig[e]!;
  }
  return out;
}
