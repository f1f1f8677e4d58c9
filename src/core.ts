/**
 * The browser-safe core: engine, methods and image maths, with no Node imports. Use it with
 * onnxruntime-web: `new Runtime(ort)` and `new Classifier(Model.prepare(parseOnnx(bytes)), runtime, info)`.
 */
export * from './errors.js';
export type { Graph, Node, TensorData, Shape, Dim, ValueInfo, Attribute, DataType } from './engine/graph/types.js';
export { parseOnnx, serializeOnnx } from './engine/graph/onnx-io.js';
export { inferShapes } from './engine/graph/shape-inference.js';
export { differentiate, type Seed, type RuleVariants } from './engine/autodiff/differentiate.js';
export { gradRules } from './engine/autodiff/rules/index.js';
export { Model, type ScoreMode, type ScoreSpec, type OutputActivation, type BuildOptions, type GraphOutputs, type PrepareOptions, TARGETS_INPUT } from './engine/model.js';
export { listLayers, resolveLayer, defaultLayer, moduleScopes, type LayerInfo } from './engine/layers.js';
export { tokenGrid, patchGrid, parseTokensGrid, type TokenGrid, type TokenOptions } from './engine/tokens.js';
export { Runtime, EngineSession, type OrtModule, type RuntimeOptions, type FloatTensor, type SessionLease } from './engine/runtime/runtime.js';
export { graphDigest, type SessionStore, type StoredGraph, type CreateSession } from './engine/runtime/session-store.js';
export { importTfjsLayers, type TfjsImport } from './importers/tfjs/import.js';
export { importTfjsGraph, type GraphImportOptions } from './importers/tfjs-graph/import.js';
export { importTfjs, tfjsFormat, tfjsManifest, type TfjsFormat } from './importers/tfjs-model.js';
export { Pipeline, type PipelineEnv, type ImagePrediction, type BuiltSession } from './methods/pipeline.js';
export { BaseCam, type CamLayer, type LayerMaps, type ImageResult, type MethodContext } from './methods/base-cam.js';
export { checkOptionNames, optionsFor, gradientCapabilities, inputCapabilities, type ExplanationMethod, type MethodCapabilities, type MethodFactory, type OptionInfo } from './methods/method.js';
export { Evaluations, runBatches, type Batches } from './methods/runner.js';
export { inputPaths, baselineFor, runPath, checkPathOptions, PATH_OPTIONS, PATH_OPTION_INFO, DEFAULT_STEPS, type PathOptions, type InputPath } from './methods/path.js';
export {
  PathRefinement, refinePaths, refineGroups, checkAdaptiveOptions, relativeHeatmapChanges, scoreScale, ADAPTIVE_OPTIONS, DEFAULT_TOLERANCE, DEFAULT_MAX_EVALUATIONS, INITIAL_POINTS,
  type AdaptiveStepsOptions, type RefineSpec, type RefinedPath, type RefinedImage,
} from './methods/adaptive.js';
export { GradCam, type GradCamOptions } from './methods/gradcam.js';
export { GradientCam, type GradientMaps } from './methods/gradient-cam.js';
export { GradCamPlusPlus } from './methods/gradcam-plus-plus.js';
export { XGradCam } from './methods/xgradcam.js';
export { LayerCam } from './methods/layercam.js';
export { HiResCam } from './methods/hirescam.js';
export { AblationCam } from './methods/ablation-cam.js';
export { InputAttribution, InputGradientMethod } from './methods/input-attribution.js';
export { ScoreCam } from './methods/score-cam.js';
export { ChannelCam } from './methods/channel-cam.js';
export { Occlusion, type OcclusionOptions } from './methods/occlusion.js';
export { GuidedBackprop, GuidedGradCam } from './methods/guided-backprop.js';
export { Rise, riseMasks, type RiseOptions } from './methods/rise.js';
export { EigenCam, EigenGradCam } from './methods/eigen-cam.js';
export { get2dProjection, symmetricEigen, type Projection } from './methods/projection.js';
export { aggregateLayerCams, camToHeatmap, weightedCam, spatialMean, channelSum } from './methods/cam.js';
export { SMOOTH_MODES, NOISE_TYPES, SMOOTHING_OPTION_INFO, type SmoothMode, type NoiseType, type SmoothingOptions } from './methods/smoothing.js';
export { Saliency } from './methods/saliency.js';
export { InputXGradient } from './methods/input-x-gradient.js';
export { IntegratedGradients, type IntegratedGradientsOptions } from './methods/integrated-gradients.js';
export { LayerIntegratedGradients, type LayerIntegratedGradientsOptions } from './methods/layer-ig.js';
export { Conductance, type ConductanceOptions } from './methods/conductance.js';
export { RsiGradCam, type RsiGradCamOptions } from './methods/rsi-grad-cam.js';
export { WEIGHTINGS, DEFAULT_WEIGHTING, registerWeighting, weightingSpec, type Weighting, type WeightingSpec, type PathIntegrals } from './methods/weightings.js';
export { StieltjesAccumulator, uniformAlphas, MAX_STEPS, STIELTJES_RULES, CAPTUM_RULES, captumQuadrature, gaussLegendre, type StieltjesRule, type CaptumRule } from './methods/quadrature.js';
export { registerMethod, methodNames, methodCapabilities, createMethod, DEFAULT_METHOD, type MethodName, type MethodOptionsMap } from './methods/registry.js';
export { COMMON_OPTIONS, type Explanation, type LayerExplanation, type Prediction, type CommonOptions } from './methods/types.js';
export { resolveTargets, scoreSpecFor, type Target, type ResolvedTarget, type TargetDescription } from './methods/targets.js';
export { Classifier, type ClassifierInfo, type ExplainOptions, type LayerListing } from './classifier.js';
export { CATALOGUE, findCatalogueEntry, type CatalogueEntry } from './catalogue.js';
export * from './image/index.js';
export { explanationJson, type ExplanationJsonContext } from './explanation-json.js';
export { importModelFile, readSidecars, assembleWeights, parseLabels, modelStem, type ModelFileReader, type ImportedModelFile, type ModelSidecars } from './model-files.js';
export * from './metrics/index.js';
export { Prng, mixSeed } from './prng.js';
