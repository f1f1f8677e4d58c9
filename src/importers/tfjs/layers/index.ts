/** The converter table: one entry per supported Keras layer class. */
import type { Converter } from '../context.js';
import { activationConverters } from './activations.js';
import { convConverters } from './conv.js';
import { coreConverters } from './core.js';
import { mergeConverters } from './merge.js';
import { normalizationConverters } from './normalization.js';
import { poolingConverters } from './pooling.js';
import { reshapingConverters } from './reshaping.js';

export const layerConverters: Record<string, Converter> = {
  ...activationConverters,
  ...convConverters,
  ...coreConverters,
  ...mergeConverters,
  ...normalizationConverters,
  ...poolingConverters,
  ...reshapingConverters,
};
