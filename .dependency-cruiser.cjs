// The hexagon's dependency rule, checked by `npm test` (tests/architecture).
// Dependencies point inward: bootstrap -> adapters -> application -> domain.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ imports only domain/ and the two pure libraries it is built on (protobuf codecs, XXH3).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '^node_modules/@bufbuild/protobuf/', '^node_modules/@node-rs/xxhash'] },
    },
    {
      name: 'application-depends-on-domain-only',
      comment: 'application/ may use domain/ and inversify (tokens, @inject), nothing concrete.',
      severity: 'error',
      from: { path: '^src/application/' },
      to: { pathNot: ['^src/application/', '^src/domain/', '^node_modules/inversify/', '^node_modules/@inversifyjs/'] },
    },
    {
      name: 'adapters-do-not-know-bootstrap',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/bootstrap/' },
    },
    {
      name: 'client-library-off-server-adapters',
      comment:
        'The client library (adapters/client, shipped as the package) knows no server: it may use itself, domain/, ' +
        'the protocol both sides share (adapters/grpc-protocol: service tables, error status mapping), the channel ' +
        'credentials it dials with (adapters/tls/grpc-channel-credentials.ts, a client-side helper the peer clients share) ' +
        'and packages. Never adapters/grpc (the servers), stores, logs or other server adapters, nor application/.',
      severity: 'error',
      from: { path: '^src/adapters/client/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [
          '^src/adapters/client/',
          '^src/adapters/grpc-protocol/',
          '^src/domain/',
          '^src/adapters/tls/grpc-channel-credentials\\.ts$',
          '^node_modules/',
        ],
      },
    },
    {
      name: 'grpc-protocol-is-shared-only',
      comment: 'adapters/grpc-protocol is what servers and clients share, so it may use only domain/ and packages: through it the client library would otherwise reach server code.',
      severity: 'error',
      from: { path: '^src/adapters/grpc-protocol/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^src/adapters/grpc-protocol/', '^src/domain/', '^node_modules/'] },
    },
    {
      name: 'no-node-io-in-core',
      comment: 'No file, network or process modules in domain/ or application/: I/O crosses a port.',
      severity: 'error',
      from: { path: '^src/(domain|application)/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'] },
  },
};
