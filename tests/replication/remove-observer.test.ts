// RemoveObserver (replication.proto, ADR 0025) on real storage nodes: the frozen parent's
// leader stops feeding a split observer, so the copy in flight fails at once instead of at its
// deadline; at another term it is refused (InvalidTerm); removing an observer that is not fed
// is a no-op; the leader goes on copying to other observers.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceError } from '@grpc/grpc-js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { assignments, elect, ServingStatus, startNodes, stopNodes, waitForStatus, type ClusterNode } from './support/cluster.js';

/** A peer that accepts connections and never answers: a copy to it hangs until stopped. */
async function blackhole(): Promise<{ server: Server; address: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

const RANGE = { min: 0, max: 0x7fff_ffff };

test('RemoveObserver stops a split copy in flight, is idempotent, and checks the term', async () => {
  const nodes: ClusterNode[] = await startNodes(2);
  const hole = await blackhole();
  const [leader, other] = nodes as [ClusterNode, ClusterNode];
  try {
    await elect(0n, 1n, leader, [], 1);
    await waitForStatus(leader, 0n, { status: ServingStatus.LEADER }, 'the leader leads');
    leader.coordination.pushAssignments(assignments([leader.publicAddress]));
    const client = new RawOxiaClient(leader.publicAddress);
    for (let i = 0; i < 50; i++) await client.put(0n, { key: `/k/${i}`, value: Buffer.from(`v${i}`) });
    client.close();
    await leader.coordination.freezeShard(0n, 1n);

    const started = Date.now();
    const stuck = leader.coordination.addObserver(0n, 1n, hole.address, 7n, RANGE).then(
      () => 'copied',
      (e: ServiceError) => e,
    );
    await waitFor(() => hole.sockets.length > 0, 'the copy to the silent peer started', 20_000);

    const wrongTerm = await leader.coordination.removeObserver(0n, 2n, hole.address, 7n).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    assert.ok(wrongTerm, 'another term is refused');
    assert.match(wrongTerm.details, /term/i);

    await leader.coordination.removeObserver(0n, 1n, hole.address, 7n);
    const outcome = await stuck;
    assert.ok(outcome !== 'copied', 'the copy to the removed observer failed');
    assert.match((outcome as ServiceError).details, /removed/);
    assert.ok(Date.now() - started < 15_000, 'it failed when removed, not at its deadline');

    await leader.coordination.removeObserver(0n, 1n, hole.address, 7n); // no longer fed: a no-op
    await leader.coordination.removeObserver(0n, 1n, 'nobody:1', 8n);

    // The leader still copies to other observers.
    await leader.coordination.addObserver(0n, 1n, other.name, 7n, RANGE);
    const child = await other.coordination.getStatus(7n);
    assert.ok(child.commitOffset >= 49n, `the other observer holds the copy (offset ${child.commitOffset})`);
  } finally {
    for (const s of hole.sockets) s.destroy();
    hole.server.close();
    await stopNodes(nodes);
  }
});

test.run();
