/** Gradient rules: normalization. */
import type { GradRule } from '../context.js';

export const normalizationRules: Record<string, GradRule> = {};
