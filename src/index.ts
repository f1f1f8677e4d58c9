/** The Node entry point: the core plus file, download and onnxruntime-node adapters. */
export * from './core.js';
export { loadModel, type LoadModelOptions } from './node/load-model.js';
export { createNodeRuntime, defaultNodeRuntime, type NodeRuntimeOptions } from './node/runtime.js';
export { DiskSessionStore, defaultSessionStore, type DiskSessionStoreOptions, type SessionStoreStats } from './node/session-store.js';
export { readOnnxFile } from './node/load-onnx.js';
export { loadTfjsModelFromFile } from './node/load-tfjs.js';
export { explainFile, preparePhoto, type PhotoExplanation, type ExplainFileOptions } from './node/explain-files.js';
export { loadImage, decodeImage, fitImageSharp, MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE } from './node/image-io.js';
export { writePng, encodePng, captionTile, grid } from './node/render.js';
