/** The converter table: one entry per supported TensorFlow op. */
import type { OpConverter } from '../context.js';
import { activationOps } from './activations.js';
import { arithmeticOps } from './arithmetic.js';
import { convOps } from './conv.js';
import { matmulOps } from './matmul.js';
import { normalizationOps } from './normalization.js';
import { poolingOps } from './pooling.js';
import { reduceOps } from './reduce.js';
import { shapeOps } from './shape.js';
import { sliceJoinOps } from './slice-join.js';

export const opConverters: Record<string, OpConverter> = {
  ...activationOps,
  ...arithmeticOps,
  ...convOps,
  ...matmulOps,
  ...normalizationOps,
  ...poolingOps,
  ...reduceOps,
  ...shapeOps,
  ...sliceJoinOps,
};
