/** Integrity across replicas (ADR 0031): the CRC chain over the log and the digest of the state. */
export { CHAIN_START_CRC, crc32c, nextChainCrc } from './entry-chain.js';
export { decodeIntegrity, encodeIntegrity, INTEGRITY_KEY_ENCODED, integrityOp, readIntegrity, type IntegrityRecord } from './integrity-record.js';
export { countsInDigest, digestAfter, readerOf, type ValueReader, digestWith, EMPTY_DIGEST, recordHash, scanDigest } from './state-digest.js';
export { DEFAULT_DIGEST_CHECKPOINT_ENTRIES, type DigestCheckpoint, DigestCheckpoints } from './digest-checkpoints.js';
