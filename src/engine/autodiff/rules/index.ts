/**
 * The gradient rule table: one entry per ONNX operator. Each family of operators keeps its
 * rules in its own file; this file only joins them.
 */
import type { GradRule } from '../context.js';
import { activationRules } from './activations.js';

export const gradRules: Record<string, GradRule> = {
  ...activationRules,
};
