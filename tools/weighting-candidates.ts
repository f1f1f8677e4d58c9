/**
 * The CLI with candidate RSI-Grad-CAM weightings registered (issue 17): weightings tried
 * against the authors' two (`guided`, `relu-grad`) and `plain`, measured with `eval` before
 * any becomes a named option (`pos-neg-0.5` did, and is built in now). Each is one
 * registerWeighting call, the extension point users have too.
 *
 *   node --import tsx tools/weighting-candidates.ts eval --weighting relu-ig ...
 *
 * Notation: per unit of the layer, IG = int g dA, P = int ReLU(g) dA, N = int ReLU(-g) dA
 * (so IG = P - N); w_k is a spatial mean over the channel's units.
 */
import { buildProgram } from '../src/cli/main.js';
import { reportError } from '../src/cli/errors.js';
import { spatialMean } from '../src/methods/cam.js';
import { registerWeighting, weightingSpec, type PathIntegrals } from '../src/methods/weightings.js';
import { Pipeline } from '../src/methods/pipeline.js';
import type { FloatTensor } from '../src/engine/runtime/runtime.js';

const relu = (g: number) => (g > 0 ? g : 0);
const negPart = (g: number) => (g < 0 ? -g : 0);

/** P - lambda N per unit, then the spatial mean. */
function posNeg(lambda: number) {
  return (p: PathIntegrals) => {
    const pos = p.integrals.pos!;
    const neg = p.integrals.neg!;
    const d = new Float32Array(pos.length);
    for (let e = 0; e < d.length; e++) d[e] = pos[e]! - lambda * neg[e]!;
    return spatialMean(d, p.channels, p.hw);
  };
}

export const CANDIDATES = {
  // A channel counts only when its net integrated contribution to the score is positive.
  'relu-ig': {
    description: 'w_k = ReLU(spatial mean of IG): ReLU of the channel\'s total integrated gradient',
    weights: (p: PathIntegrals) => spatialMean(p.ig, p.channels, p.hw).map(relu),
  },
  // Between relu-grad (lambda 0) and plain (lambda 1): evidence against the class counts,
  // discounted. lambda = 0.5 passed issue 17's test and is built in (src/methods/weightings.ts).
  'pos-neg-0.25': {
    description: 'w_k = spatial mean of P - N/4',
    integrands: { pos: relu, neg: negPart },
    weights: posNeg(0.25),
  },
  // relu-grad's weights minus their mean over the channels: the part every class shares (the
  // activation sum, what any positive mix of channels shows) is taken out of the map.
  'relu-grad-centred': {
    description: 'w_k = spatial mean of P, minus its mean over the channels',
    integrands: { pos: relu },
    weights: (p: PathIntegrals) => centred(spatialMean(p.integrals.pos!, p.channels, p.hw)),
  },
};

/** w - mean(w). */
function centred(w: Float32Array): Float32Array {
  const m = w.reduce((a, b) => a + b, 0) / w.length;
  return w.map((v) => v - m);
}

for (const [name, spec] of Object.entries(CANDIDATES)) registerWeighting(name, spec);

/**
 * `relu-grad-contrast`: relu-grad of a contrastive target, the class's score minus the mean of
 * the other classes' scores (the target row e_c - (1 - e_c) / (K - 1) instead of e_c). With
 * the softmax that is K/(K-1) y_c - 1/(K-1) (the probabilities sum to 1), the same map as
 * relu-grad, so it is run with --score logit: z_c - mean_(j != c) z_j. The weighting itself is
 * relu-grad's; the name switches the target rows for the whole process (this tool runs one
 * weighting per process), and run.json records it.
 */
registerWeighting('relu-grad-contrast', { ...weightingSpec('relu-grad'), description: 'relu-grad of z_c - mean of the other logits (use --score logit)' });
const args = process.argv.join(' ');
if (/--weighting[ =]relu-grad-contrast\b/.test(args)) {
  if (!/--score[ =]logit\b/.test(args)) throw new Error('relu-grad-contrast needs --score logit (on the softmax it equals relu-grad)');
  const oneHot = Pipeline.prototype.targetRows;
  Pipeline.prototype.targetRows = function (this: Pipeline, targets: readonly (number | Float32Array)[], width = this.model.numClasses): FloatTensor {
    const k = this.model.numClasses;
    const contrast = (c: number) => {
      const row = new Float32Array(k).fill(-1 / (k - 1));
      row[c] = 1;
      return row;
    };
    return oneHot.call(this, targets.map((t) => (typeof t === 'number' && t >= 0 && width === k ? contrast(t) : t)), width);
  };
}

const isMain = process.argv[1] && /weighting-candidates\.ts$/.test(process.argv[1]);
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .then(
      () => process.exit(process.exitCode ?? 0),
      (e) => process.exit(reportError(e)),
    );
}
