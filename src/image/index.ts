/** Image input and picture output, core part (no Node imports). */
export * from './types.js';
export * from './color.js';
export * from './preprocess.js';
export * from './blur.js';
export * from './fit.js';
export * from './float-map.js';
export { resizeRgb } from './resize-rgb.js';
export { resizeRgbAsSharp } from './resize-vips.js';
export * from './colormap.js';
export * from './overlay.js';
export * from './draw.js';
