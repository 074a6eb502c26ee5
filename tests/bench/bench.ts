// `npm run bench`: with --compare, etcd vs ZooKeeper vs oxia-ts (compare/main.ts); with
// --security, plaintext vs TLS vs TLS with OIDC tokens (security/main.ts); with --takeover, a
// standby coordinator taking over (takeover.ts); otherwise the oxia-ts client-batching bench
// (run.ts). Each reads its own flags from process.argv.
const args = process.argv.slice(2);
if (args.includes('--compare')) await import('./compare/main.js');
else if (args.includes('--security')) await import('./security/main.js');
else if (args.includes('--takeover')) await import('./takeover.js');
else await import('./run.js');
