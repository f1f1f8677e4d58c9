/** Gradient rules: arithmetic. */
import type { GradRule } from '../context.js';

export const arithmeticRules: Record<string, GradRule> = {};
