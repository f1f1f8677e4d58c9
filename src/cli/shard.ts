/** `--shard K/N` for explain and eval (the split itself: src/node/shard.ts). */
import { Option } from 'commander';
import { parseShard, type Shard } from '../node/shard.js';

export const SHARD_HELP =
  "this machine's part of the inputs: K/N (K = 0 ... N-1) or auto/N (K from $JOB_COMPLETION_INDEX, Kubernetes, " +
  'or $SLURM_ARRAY_TASK_ID - $SLURM_ARRAY_TASK_MIN, Slurm); the sorted inputs are cut into N contiguous parts; output in <out>/shard-K-of-N';

/** The --shard option; its value is parsed (with the scheduler's environment) when the command runs. */
export function shardOption(): Option {
  return new Option('--shard <K/N>', SHARD_HELP).argParser((v: string) => parseShard(v));
}

export type { Shard };
