/** Layers that do nothing at inference (dropout and noise); they still get a named output. */
import { single, type Converter } from '../context.js';

const identity: Converter = (ctx) => single(ctx);

export const coreConverters: Record<string, Converter> = {
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  SpatialDropout3D: identity,
  GaussianDropout: identity,
  GaussianNoise: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
};
