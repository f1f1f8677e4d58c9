/** Explanation metrics (core, no Node imports): faithfulness, localisation, completeness, sanity. */
export * from './stats.js';
export * from './tensor-image.js';
export * from './ranking.js';
export * from './spearman.js';
export * from './deletion-insertion.js';
export * from './average-drop.js';
export * from './imputation.js';
export * from './road.js';
export * from './boxes.js';
export * from './pointing-game.js';
export * from './energy-pointing.js';
export * from './class-sensitivity.js';
export * from './completeness.js';
export * from './sanity.js';
