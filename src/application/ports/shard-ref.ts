/** Names one shard's storage on a node. Shard ids are unique across namespaces. */
export interface ShardRef {
  readonly namespace: string;
  readonly shard: bigint;
}
