/** Gradient rules: reduce. */
import type { GradRule } from '../context.js';

export const reduceRules: Record<string, GradRule> = {};
