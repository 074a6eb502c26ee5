// A client process that writes ephemeral records and then lives until it is killed: a client
// that dies (no close) while its session is alive. Args: address, key prefix, count,
// session timeout ms. Prints one JSON line {"event":"ready","sessionIds":[...]} once written.
import { OxiaClient } from '../../../src/adapters/client/index.js';

const [address, prefix, count, timeoutMs] = process.argv.slice(2);
const client = await OxiaClient.connect(address!, { sessionTimeoutMs: Number(timeoutMs), requestTimeoutMs: 60_000 });
const ids = new Set<number>();
for (let i = 0; i < Number(count); i++) {
  const put = await client.put(`${prefix}${String(i).padStart(3, '0')}`, 'alive', { ephemeral: true });
  ids.add(put.version.sessionId!);
}
console.log(JSON.stringify({ event: 'ready', sessionIds: [...ids] }));
setInterval(() => {}, 60_000); // keeps heartbeating until killed
