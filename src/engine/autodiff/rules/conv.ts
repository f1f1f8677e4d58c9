/** Gradient rules: conv. */
import type { GradRule } from '../context.js';

export const convRules: Record<string, GradRule> = {};
