// The authorization policy's pure parts: which grants apply to whom, and whether keys and
// ranges (in either key order) lie inside a key-prefix scope.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hasAnyRight, scopeOf, type AccessPolicy, type Grant } from '../../src/domain/security/access-policy.js';
import { keyInScope, rangeInScope, rangeTouchesScope } from '../../src/domain/security/key-scope.js';
import { ANONYMOUS, principalOf } from '../../src/domain/security/principal.js';

const S = suite('domain: access policy');

const grant = (g: Partial<Grant>): Grant => ({ principals: [{ kind: 'anyone' }], namespaces: ['default'], rights: ['read'], keyPrefix: undefined, ...g });
const alice = principalOf({ user: 'alice', claims: { sub: 'alice', groups: ['ops', 'dev'], tier: 2 } });
const bob = principalOf({ user: 'bob', claims: { sub: 'bob' } });
const broker = principalOf({ certificateSubject: { CN: 'broker-1', O: 'pulsar' } });

S('principal names: user claim, else certificate subject, else anonymous', () => {
  assert.is(alice.name, 'alice');
  assert.is(broker.name, 'CN=broker-1,O=pulsar');
  assert.is(ANONYMOUS.name, 'anonymous');
  assert.is(principalOf({ user: 'carol', certificateSubject: { CN: 'x' } }).name, 'carol');
});

S('matchers: user, claim (string, number, list), certificate attributes, anonymous, anyone', () => {
  const policy = (principal: Grant['principals'][number]): AccessPolicy => ({ grants: [grant({ principals: [principal] })] });
  const allowed = (p: AccessPolicy, who: typeof alice) => scopeOf(p, who, 'default', 'read').kind !== 'none';
  assert.ok(allowed(policy({ kind: 'user', name: 'alice' }), alice));
  assert.not.ok(allowed(policy({ kind: 'user', name: 'alice' }), bob));
  assert.ok(allowed(policy({ kind: 'claim', claim: 'groups', value: 'ops' }), alice));
  assert.ok(allowed(policy({ kind: 'claim', claim: 'tier', value: '2' }), alice));
  assert.not.ok(allowed(policy({ kind: 'claim', claim: 'groups', value: 'ops' }), bob));
  assert.ok(allowed(policy({ kind: 'certificate', attributes: { CN: 'broker-1' } }), broker));
  assert.ok(allowed(policy({ kind: 'certificate', attributes: { CN: 'broker-1', O: 'pulsar' } }), broker));
  assert.not.ok(allowed(policy({ kind: 'certificate', attributes: { CN: 'broker-1', O: 'other' } }), broker));
  assert.not.ok(allowed(policy({ kind: 'certificate', attributes: { CN: 'alice' } }), alice), 'a user name is not a certificate');
  assert.ok(allowed(policy({ kind: 'anonymous' }), ANONYMOUS));
  assert.not.ok(allowed(policy({ kind: 'anonymous' }), alice));
  assert.ok(allowed(policy({ kind: 'anyone' }), ANONYMOUS));
});

S('rights: admin implies read and write; write does not imply read; namespaces by name or "*"', () => {
  const p: AccessPolicy = {
    grants: [
      grant({ principals: [{ kind: 'user', name: 'alice' }], rights: ['write'] }),
      grant({ principals: [{ kind: 'user', name: 'bob' }], rights: ['admin'], namespaces: ['*'] }),
    ],
  };
  assert.is(scopeOf(p, alice, 'default', 'write').kind, 'all');
  assert.is(scopeOf(p, alice, 'default', 'read').kind, 'none');
  assert.is(scopeOf(p, alice, 'other', 'write').kind, 'none');
  for (const right of ['read', 'write', 'admin'] as const) assert.is(scopeOf(p, bob, 'anything', right).kind, 'all');
  assert.ok(hasAnyRight(p, alice, 'default'));
  assert.not.ok(hasAnyRight(p, alice, 'other'));
  assert.not.ok(hasAnyRight({ grants: [] }, bob, 'default'), 'an empty policy denies everything');
});

S('scopes: prefixes of several grants add up; a grant without prefix is every key', () => {
  const p: AccessPolicy = { grants: [grant({ keyPrefix: '/a/' }), grant({ keyPrefix: '/b/' })] };
  assert.equal(scopeOf(p, alice, 'default', 'read'), { kind: 'prefixes', prefixes: ['/a/', '/b/'] });
  assert.is(scopeOf({ grants: [...p.grants, grant({})] }, alice, 'default', 'read').kind, 'all');
});

S('keys in scope', () => {
  const scope = { kind: 'prefixes', prefixes: ['/t/a/'] } as const;
  assert.ok(keyInScope(scope, '/t/a/x'));
  assert.ok(keyInScope(scope, '/t/a/x/y'));
  assert.not.ok(keyInScope(scope, '/t/ab'));
  assert.not.ok(keyInScope(scope, '/t/a'));
  assert.not.ok(keyInScope({ kind: 'none' }, '/t/a/x'));
  assert.ok(keyInScope({ kind: 'all' }, 'anything'));
});

S('ranges in scope, hierarchical order: one depth inside the prefix', () => {
  const scope = { kind: 'prefixes', prefixes: ['/t/a/'] } as const;
  const inside = (start: string, end: string) => rangeInScope(scope, 'hierarchical', start, end);
  assert.ok(inside('/t/a/', '/t/a//'), 'the children of /t/a');
  assert.ok(inside('/t/a/x/', '/t/a/x//'), 'the children of /t/a/x');
  assert.ok(inside('/t/a/k1', '/t/a/k9'));
  assert.not.ok(inside('/t/', '/t//'), 'the children of /t hold /t/b');
  assert.not.ok(inside('/t/a/', '/t/a/x/y'), 'spans depths: holds every deeper key below /t/a/x/y in order');
  assert.not.ok(inside('/t/a/', ''), 'unbounded');
  assert.not.ok(inside('/t/a/x', '/t/b/x'), 'same depth but past the prefix');
  assert.ok(inside('/t/b/', '/t/a/'), 'an inverted range reaches no key');
});

S('ranges in scope, natural order: one interval', () => {
  const scope = { kind: 'prefixes', prefixes: ['t/a/'] } as const;
  assert.ok(rangeInScope(scope, 'natural', 't/a/', 't/a0'));
  assert.ok(rangeInScope(scope, 'natural', 't/a/x', 't/a/x/y/z'));
  assert.not.ok(rangeInScope(scope, 'natural', 't/a/', 't/b'));
  assert.not.ok(rangeInScope(scope, 'natural', 't/', 't/a0'));
});

S('deleted ranges touching a scope (notifications)', () => {
  const scope = { kind: 'prefixes', prefixes: ['/t/a/'] } as const;
  assert.ok(rangeTouchesScope(scope, 'hierarchical', '/t/a/x', '/t/a/y'));
  assert.ok(rangeTouchesScope(scope, 'hierarchical', '/t/a/', '/t/a//'));
  assert.not.ok(rangeTouchesScope(scope, 'hierarchical', '/t/', '/t//'), 'the children of /t are not deep enough to be under /t/a/');
  assert.ok(rangeTouchesScope(scope, 'hierarchical', '/t/', '/t/b/c'), 'from depth 2 to depth 3 holds /t/a/...');
  assert.ok(rangeTouchesScope(scope, 'hierarchical', '/t/', ''), 'unbounded');
  assert.not.ok(rangeTouchesScope(scope, 'hierarchical', '/t/b/', '/t/b//'));
  assert.not.ok(rangeTouchesScope(scope, 'hierarchical', '/u/', '/u//'));
  assert.ok(rangeTouchesScope(scope, 'hierarchical', '/', '/x/y/z/w'), 'over three depths');
  assert.ok(rangeTouchesScope({ kind: 'prefixes', prefixes: ['t/a/'] }, 'natural', 't/', 't/b'));
  assert.not.ok(rangeTouchesScope({ kind: 'prefixes', prefixes: ['t/a/'] }, 'natural', 't/b', 't/c'));
});

S.run();
