/**
 * Public models known by name, with their labels and preprocessing. The MobileNet v1 Layers
 * models are the ones TensorFlow.js and Teachable Machine publish.
 */
export interface CatalogueEntry {
  name: string;
  description: string;
  /** URL of a `.onnx` file or a TF.js `model.json`. */
  url: string;
  /** A preprocessing preset name. */
  preprocess: 'imagenet' | 'tf' | 'caffe' | 'unit';
  size: [number, number];
  /** 'imagenet' uses the bundled ImageNet-1k class names. */
  labels: 'imagenet';
}

const mobilenet = (alpha: string): CatalogueEntry => ({
  name: `mobilenet_v1_${alpha}_224`,
  description: `MobileNet v1, width ${alpha}, 224x224, ImageNet-1k (TF.js Layers model)`,
  url: `https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_${alpha}_224/model.json`,
  preprocess: 'tf',
  size: [224, 224],
  labels: 'imagenet',
});

export const CATALOGUE: readonly CatalogueEntry[] = [mobilenet('1.0'), mobilenet('0.75'), mobilenet('0.50'), mobilenet('0.25')];

/** An entry by name (a few spellings accepted: `mobilenet_v1_0.5_224`, `mobilenet-v1-0.50`). */
export function findCatalogueEntry(name: string): CatalogueEntry | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '_').replace(/_224$/, '').replace(/0\.5$/, '0.50').replace(/_1$/, '_1.0');
  return CATALOGUE.find((e) => norm(e.name) === norm(name));
}
