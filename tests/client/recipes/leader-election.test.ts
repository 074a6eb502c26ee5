// LeaderElection against a real `oxia-ts standalone` (--kv level): campaign order,
// observing the leader (iterable and callback), resign, hand-over when the leader's
// process is killed with SIGKILL, and a leader told when its session is lost.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { LeaderElection, OwnershipLostError, OxiaClient, type LeaderInfo, type OxiaClientOptions } from '../../../src/adapters/client/index.js';
import { startStandalone, type StandaloneProcess } from '../../support/standalone.js';
import { waitFor } from '../../support/wait.js';
import { nextItems } from '../e2e/client-api.suite.js';
import { startContender } from './support.js';

const S = suite('LeaderElection');
let server: StandaloneProcess;
const clients: OxiaClient[] = [];
const quiet = { warn: () => {} };
const fresh = () => `/elections/${randomUUID().slice(0, 8)}`;
const text = (leader: LeaderInfo | undefined) => (leader === undefined ? undefined : new TextDecoder().decode(leader.value));

async function connect(options: OxiaClientOptions = {}): Promise<OxiaClient> {
  const c = await OxiaClient.connect(server.address, { logger: quiet, sessionTimeoutMs: 2000, ...options });
  clients.push(c);
  return c;
}

S.before(async () => {
  server = await startStandalone({ shards: 2, kv: 'level' });
});
S.after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await server?.stop();
});

S('candidates lead in campaign order; observers see every leader, then none', async () => {
  const name = fresh();
  const [a, b, watcher] = await Promise.all([connect(), connect(), connect()]);
  const observer = new LeaderElection(watcher!, name);
  const seen = observer.observe();
  const it = seen[Symbol.asyncIterator]();
  const called: (string | undefined)[] = [];
  const stopCallback = observer.onLeaderChange((l) => called.push(text(l)));
  try {
    assert.equal((await nextItems(it, 1)).map(text), [undefined], 'no leader yet');

    const ea = new LeaderElection(a!, name, { value: 'node-a' });
    const eb = new LeaderElection(b!, name, { value: 'node-b' });
    await ea.campaign();
    assert.is(ea.isLeader, true);
    assert.equal((await nextItems(it, 1)).map(text), ['node-a']);
    const bLeads = eb.campaign({ timeoutMs: 30_000 });
    await waitFor(async () => (await watcher!.list(`${name}/`, `${name}//`, { partitionKey: name })).length === 2, "b's candidacy");
    assert.is(eb.isLeader, false);
    assert.is(text(await observer.leader()), 'node-a');

    await ea.resign();
    assert.is(ea.isLeader, false);
    await bLeads;
    assert.is(eb.isLeader, true);
    assert.equal((await nextItems(it, 1)).map(text), ['node-b']);
    assert.is((await observer.leader())?.version.clientIdentity !== undefined, true);
    await eb.resign();
    assert.equal((await nextItems(it, 1)).map(text), [undefined]);
    await waitFor(() => called.length === 4, 'the callback observer to catch up');
    assert.equal(called, [undefined, 'node-a', 'node-b', undefined]);
  } finally {
    seen.close();
    stopCallback();
  }
});

S("a leader process killed with SIGKILL: the next candidate leads about one session timeout later", async () => {
  const name = fresh();
  const sessionTimeoutMs = 2000;
  const child = startContender(server.address, 'election', name, sessionTimeoutMs, 'child');
  await child.waitFor('acquired');
  const b = await connect();
  const eb = new LeaderElection(b, name, { value: 'successor' });
  assert.is(text(await eb.leader()), 'child');
  const seen = eb.observe();
  const it = seen[Symbol.asyncIterator]();
  try {
    assert.equal((await nextItems(it, 1)).map(text), ['child']);
    let ledAt: number | undefined;
    const leads = eb.campaign({ timeoutMs: 60_000 }).then(() => (ledAt = Date.now()));
    await waitFor(async () => (await b.list(`${name}/`, `${name}//`, { partitionKey: name })).length === 2, 'the candidacy');
    assert.is(ledAt, undefined);
    const killedAt = Date.now();
    await child.kill9();
    await leads;
    const handOverMs = (ledAt as number) - killedAt;
    assert.ok(handOverMs < sessionTimeoutMs + 5000, `led ${handOverMs} ms after the kill`);
    assert.equal((await nextItems(it, 1)).map(text), ['successor']);
    await eb.resign();
  } finally {
    seen.close();
  }
});

S('a leader whose session is lost (server unresponsive past the session timeout) is told; another candidate then leads', async () => {
  const name = fresh();
  // b's session outlasts the freeze below; a's does not.
  const [a, b] = await Promise.all([connect(), connect({ sessionTimeoutMs: 60_000 })]);
  const ea = new LeaderElection(a!, name, { value: 'a' });
  const eb = new LeaderElection(b!, name, { value: 'b' });
  await ea.campaign();
  const lost: OwnershipLostError[] = [];
  ea.onLeadershipLost((e) => lost.push(e));
  const signal = ea.signal!;
  const bLeads = eb.campaign({ timeoutMs: 60_000 });
  await waitFor(async () => (await b!.list(`${name}/`, `${name}//`, { partitionKey: name })).length === 2, "b's candidacy");
  // Freeze the server: no heartbeat is answered, so the leader's client gives its session up.
  process.kill(server.pid as number, 'SIGSTOP');
  try {
    await waitFor(() => lost.length > 0, 'the leader to be told', 30_000);
  } finally {
    process.kill(server.pid as number, 'SIGCONT');
  }
  assert.is(ea.isLeader, false);
  assert.instance(signal.reason, OwnershipLostError);
  assert.match(lost[0]!.message, /session/);
  await bLeads;
  assert.is(eb.isLeader, true);
  assert.is(text(await eb.leader()), 'b');
  await eb.resign();
});

S.run();
