/** Gradient rules: linear. */
import type { GradRule } from '../context.js';

export const linearRules: Record<string, GradRule> = {};
