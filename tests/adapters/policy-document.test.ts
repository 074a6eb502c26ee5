// The authorization policy file's format: every principal form, optional prefix, and an
// error naming the place of each mistake.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePolicyDocument, PolicyDocumentError } from '../../src/adapters/access-policy-file/policy-document.js';

const S = suite('adapters: policy document');

S('every principal form, rights and an optional key prefix', () => {
  const policy = parsePolicyDocument(`
grants:
  - principals: ["*", anonymous, "user:alice", "claim:groups=ops", "cert:CN=broker-1, O=pulsar"]
    namespaces: [default, "*"]
    rights: [read, write, admin]
    keyPrefix: /t/a/
  - principals: ["user:bob"]
    namespaces: [ns]
    rights: [read]
`);
  assert.equal(policy.grants[0]!.principals, [
    { kind: 'anyone' },
    { kind: 'anonymous' },
    { kind: 'user', name: 'alice' },
    { kind: 'claim', claim: 'groups', value: 'ops' },
    { kind: 'certificate', attributes: { CN: 'broker-1', O: 'pulsar' } },
  ]);
  assert.equal(policy.grants[0]!.namespaces, ['default', '*']);
  assert.equal(policy.grants[0]!.rights, ['read', 'write', 'admin']);
  assert.is(policy.grants[0]!.keyPrefix, '/t/a/');
  assert.is(policy.grants[1]!.keyPrefix, undefined);
  assert.equal(parsePolicyDocument('grants: []'), { grants: [] });
});

S('mistakes are named by their place', () => {
  const cases: Array<[string, RegExp]> = [
    ['grants: [', /not valid YAML/],
    ['- a', /must be a mapping/],
    ['grant: []', /unknown field "grant"/],
    ['grants: {}', /"grants" must be a list/],
    ['grants: [{ principals: ["user:a"], namespaces: [d], rights: [read], prefix: /x }]', /grants\[0\]: unknown field "prefix"/],
    ['grants: [{ namespaces: [d], rights: [read] }]', /grants\[0\]\.principals: must be a non-empty list/],
    ['grants: [{ principals: ["bob"], namespaces: [d], rights: [read] }]', /grants\[0\]\.principals\[0\]: "bob" is not a principal/],
    ['grants: [{ principals: ["claim:groups"], namespaces: [d], rights: [read] }]', /claim:<name>=<value>/],
    ['grants: [{ principals: ["cert:broker"], namespaces: [d], rights: [read] }]', /cert:<attr>=<value>/],
    ['grants: [{ principals: ["user:a"], namespaces: [], rights: [read] }]', /grants\[0\]\.namespaces: must be a non-empty list/],
    ['grants: [{ principals: ["user:a"], namespaces: [d], rights: [read, own] }]', /grants\[0\]\.rights\[1\]: unknown right "own"/],
    ['grants: [{ principals: ["user:a"], namespaces: [d], rights: [read], keyPrefix: 3 }]', /grants\[0\]\.keyPrefix: must be text/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parsePolicyDocument(text), (e: unknown) => e instanceof PolicyDocumentError && message.test(e.message), text);
  }
});

S.run();
