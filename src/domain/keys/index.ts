export * from './bytes.js';
export * from './internal-keys.js';
export * from './key-encoder.js';
export * from './path-escape.js';
export * from './slash-order.js';
