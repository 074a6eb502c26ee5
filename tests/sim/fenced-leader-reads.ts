import type { ClientApi } from '../../src/application/client-api.js';
import type { SimDisk } from '../../src/adapters/simulation/sim-disk.js';
import { get } from '../../src/domain/database/reads.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import type { KeySorting } from '../../src/domain/sharding/namespace.js';
import type { ReadRequest, ReadResponse } from '../../src/domain/wire/client.js';

/**
 * The defect fenced-leader-reads, wrapped around one node process's client service: once
 * this process has served a read of a shard as its leader, it keeps answering reads of that
 * shard from its own store after it lost the leadership (fenced, or following another
 * leader), with no term or lease check. Lives in the simulation, not in the replica code.
 */
export function fencedLeaderReads(api: ClientApi, disk: SimDisk, namespace: string, keySorting: KeySorting): ClientApi {
  const led = new Set<bigint>();
  async function* read(shard: bigint, request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse> {
    try {
      for await (const response of api.read(shard, request, signal)) {
        led.add(shard);
        yield response;
      }
    } catch (error) {
      const view = disk.storeView({ namespace, shard });
      if (!led.has(shard) || !isOxiaError(error, 'NodeIsNotLeader') || !view) throw error;
      const config = { keySorting, notificationsEnabled: false, shard };
      yield { gets: await Promise.all(request.gets.map((g) => get(view, g, config))) };
    }
  }
  return new Proxy(api, {
    get: (target, property) => {
      if (property === 'read') return read;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
