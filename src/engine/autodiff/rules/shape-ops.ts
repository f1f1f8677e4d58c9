/** Gradient rules: shape-ops. */
import type { GradRule } from '../context.js';

export const shapeOpsRules: Record<string, GradRule> = {};
