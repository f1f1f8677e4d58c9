/** Gradient rules: softmax. */
import type { GradRule } from '../context.js';

export const softmaxRules: Record<string, GradRule> = {};
