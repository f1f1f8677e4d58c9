/** Gradient rules: pool. */
import type { GradRule } from '../context.js';

export const poolRules: Record<string, GradRule> = {};
