/**
 * Layers that do nothing at inference (dropout, noise, and Keras's random augmentation
 * layers, which pass images through unchanged outside training); they still get a named output.
 */
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
  RandomFlip: identity,
  RandomRotation: identity,
  RandomZoom: identity,
  RandomTranslation: identity,
  RandomContrast: identity,
  RandomBrightness: identity,
};
