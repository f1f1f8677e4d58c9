/** Gradient rules: resize. */
import type { GradRule } from '../context.js';

export const resizeRules: Record<string, GradRule> = {};
