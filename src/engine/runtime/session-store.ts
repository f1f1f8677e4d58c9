/**
 * Where onnxruntime's optimised graphs are kept between processes. Building a session for
 * the forward + backward graph of a big model takes seconds (onnxruntime's optimiser and
 * the serialisation of every weight); a process that finds the optimised graph stored loads
 * it instead. The runtime only asks through this interface: the Node runtime stores files
 * in the cache folder (src/node/session-store.ts); the page has no store.
 */
import type * as OrtCommon from 'onnxruntime-common';
import { serializeOnnx } from '../graph/onnx-io.js';
import type { Graph, TypedData } from '../graph/types.js';

/** How to create a session from the graph's bytes or from a stored file. */
export type CreateSession = (source: Uint8Array | string, options: OrtCommon.InferenceSession.SessionOptions) => Promise<OrtCommon.InferenceSession>;

/** A graph the runtime wants a session for. */
export interface StoredGraph {
  /** Digest of the graph's content (structure and every weight; `graphDigest`). */
  digest: string;
  /** The graph as `.onnx` bytes; called only when nothing valid is stored. */
  bytes(): Uint8Array;
  /** The session options the runtime would use. */
  options: OrtCommon.InferenceSession.SessionOptions;
}

export interface SessionStore {
  /** A hex digest of byte chunks, in order (a cryptographic hash: the store's key rests on it). */
  hash(chunks: Iterable<Uint8Array>): string;
  /**
   * A session for `graph`: loaded from its stored optimised form when a valid one exists,
   * else created from `graph.bytes()` and its optimised form stored for the next process.
   * An entry that cannot be read is rebuilt; never a failure of its own.
   */
  open(graph: StoredGraph, create: CreateSession): Promise<OrtCommon.InferenceSession>;
  /**
   * The digest of a model file's bytes, remembered by the file's identity so that a later
   * process need not hash them again (`seedWeightDigests`); undefined when it cannot tell.
   * `identity` names the file as read (Node: device, inode, size and times).
   */
  fileDigest?(file: string, identity: string, bytes: Uint8Array): Promise<string | undefined>;
}

const dataDigests = new WeakMap<SessionStore, WeakMap<TypedData, string>>();

/**
 * The digest of what the runtime hands to onnxruntime: the graph without its weights as
 * `.onnx` bytes, then each weight's name, type, shape and the hash of its data. Weights are
 * shared between the graph variants of one model, so each is hashed once per store.
 */
export function graphDigest(graph: Graph, store: SessionStore): string {
  const memo = digestsOf(store);
  const text = new TextEncoder();
  const parts: Uint8Array[] = [serializeOnnx({ ...graph, initializers: new Map() })];
  for (const [name, t] of graph.initializers) {
    let d = memo.get(t.data);
    if (d === undefined) memo.set(t.data, (d = store.hash([new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)])));
    parts.push(text.encode(`\n${name}\n${t.dataType}\n${t.dims.join(',')}\n${d}`));
  }
  return store.hash(parts);
}

function digestsOf(store: SessionStore): WeakMap<TypedData, string> {
  let memo = dataDigests.get(store);
  if (!memo) dataDigests.set(store, (memo = new WeakMap()));
  return memo;
}

/**
 * Names the weights of a graph just parsed from one model file by that file's digest and
 * their names, so `graphDigest` does not hash their data (about a second for a 500 MB
 * model): the file's bytes determine each named weight as parsed. Only for weights that are
 * the parser's own arrays, all from that file (no external data), before anything else sees them.
 */
export function seedWeightDigests(store: SessionStore, graph: Graph, fileDigest: string): void {
  const memo = digestsOf(store);
  const text = new TextEncoder();
  for (const [name, t] of graph.initializers) memo.set(t.data, store.hash([text.encode(`file ${fileDigest}\n${name}`)]));
}
