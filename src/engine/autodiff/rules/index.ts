/**
 * The gradient rule table: one entry per ONNX operator. Each family of operators keeps its
 * rules in its own file; this file only joins them.
 */
import type { GradRule } from '../context.js';
import { activationRules } from './activations.js';
import { arithmeticRules } from './arithmetic.js';
import { convRules } from './conv.js';
import { linearRules } from './linear.js';
import { normalizationRules } from './normalization.js';
import { padRules } from './pad.js';
import { poolRules } from './pool.js';
import { reduceRules } from './reduce.js';
import { resizeRules } from './resize.js';
import { shapeOpsRules } from './shape-ops.js';
import { softmaxRules } from './softmax.js';

export const gradRules: Record<string, GradRule> = {
  ...activationRules,
  ...arithmeticRules,
  ...convRules,
  ...poolRules,
  ...normalizationRules,
  ...padRules,
  ...resizeRules,
  ...linearRules,
  ...shapeOpsRules,
  ...softmaxRules,
  ...reduceRules,
};
