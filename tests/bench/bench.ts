// `npm run bench`: with --compare, etcd vs ZooKeeper vs oxia-ts (compare/main.ts); otherwise
// the oxia-ts client-batching bench (run.ts). Each reads its own flags from process.argv.
if (process.argv.slice(2).includes('--compare')) await import('./compare/main.js');
else await import('./run.js');
