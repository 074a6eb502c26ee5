/**
 * A 3-member ZooKeeper ensemble on loopback from Debian's zookeeper package: one JVM per
 * member running QuorumPeerMain from /usr/share/java/zookeeper.jar (its manifest names the
 * other jars), a generated zoo.cfg and myid per member, free client, quorum and election ports.
 * The package's zkServer.sh is not used: it reads /etc/zookeeper and daemonises, and a JVM
 * started directly is a child this process can stop.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePorts, onPath, spawnServer, type ServerProcess } from '../processes.js';
import { stopAll, waitUntilServing, type RunningSystem, type SystemLauncher } from './system.js';

const MEMBERS = 3;
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** A logging backend for ZooKeeper's slf4j (plain lines to stderr); without it the JVM logs nothing. */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
const HEAP = '1g';

function javaBinary(): string | undefined {
  return onPath('java') ?? (existsSync('/usr/bin/java') ? '/usr/bin/java' : undefined);
}

export const zookeeperLauncher: SystemLauncher = {
  name: 'zookeeper',
  missing: () => (existsSync(ZOOKEEPER_JAR) && javaBinary() !== undefined ? undefined : 'apt-get install -y zookeeper'),
  settings: [
    `3 members (server.1-3 in each zoo.cfg, myid files), one JVM each with a ${HEAP} heap, client port on 127.0.0.1.`,
    'tickTime 2000, initLimit 10, syncLimit 5 (the sample zoo.cfg); forceSync=yes, the default: the transaction log is fsynced before a write is acknowledged.',
    'Admin server (Jetty) off; four-letter words limited to srvr (how the bench sees that the ensemble has a leader); no remote JMX port.',
    'Reads are served by the member the session is connected to, without a round to the leader (ZooKeeper\'s default sequential consistency; no sync() before reads). Writes go through the leader and a quorum.',
    'Client: the npm package node-zookeeper-client, one session (it picks one of the 3 members); put = setData of an existing znode, get = getData.',
  ],
  async start(dir: string): Promise<RunningSystem> {
    const java = javaBinary();
    if (java === undefined || !existsSync(ZOOKEEPER_JAR)) throw new Error('ZooKeeper is not installed');
    const ports = await freePorts(3 * MEMBERS);
    const members = Array.from({ length: MEMBERS }, (_, i) => ({
      id: i + 1,
      name: `zookeeper-${i + 1}`,
      client: ports[3 * i]!,
      quorum: ports[3 * i + 1]!,
      election: ports[3 * i + 2]!,
    }));
    const classpath = [ZOOKEEPER_JAR, ...(existsSync(SLF4J_SIMPLE_JAR) ? [SLF4J_SIMPLE_JAR] : [])].join(':');
    const processes: ServerProcess[] = [];
    try {
      for (const m of members) {
        const memberDir = join(dir, m.name);
        const dataDir = join(memberDir, 'data');
        mkdirSync(dataDir, { recursive: true });
        writeFileSync(join(dataDir, 'myid'), `${m.id}\n`);
        const config = join(memberDir, 'zoo.cfg');
        writeFileSync(
          config,
          [
            'tickTime=2000',
            'initLimit=10',
            'syncLimit=5',
            `dataDir=${dataDir}`,
            `clientPort=${m.client}`,
            'clientPortAddress=127.0.0.1',
            'forceSync=yes',
            'admin.enableServer=false',
            '4lw.commands.whitelist=srvr',
            ...members.map((o) => `server.${o.id}=127.0.0.1:${o.quorum}:${o.election}`),
            '',
          ].join('\n'),
        );
        processes.push(
          spawnServer({
            name: m.name,
            command: java,
            args: [`-Xms${HEAP}`, `-Xmx${HEAP}`, '-cp', classpath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', config],
            logFile: join(dir, `${m.name}.log`),
            cwd: memberDir,
          }),
        );
      }
      await waitUntilServing(
        processes,
        async () => {
          const modes = await Promise.all(members.map((m) => fourLetterWord(m.client, 'srvr').then(modeOf, () => undefined)));
          return modes.filter((x) => x === 'leader').length === 1 && modes.every((x) => x === 'leader' || x === 'follower');
        },
        'the ZooKeeper ensemble elects a leader',
      );
    } catch (e) {
      await stopAll(processes);
      throw e;
    }
    const version = await fourLetterWord(members[0]!.client, 'srvr').then((s) => /Zookeeper version:\s*([0-9.]+)/.exec(s)?.[1] ?? 'unknown version', () => 'unknown version');
    let stopping: Promise<void> | undefined;
    return {
      endpoints: members.map((m) => `127.0.0.1:${m.client}`),
      description: `ZooKeeper ${version} (${ZOOKEEPER_JAR}, ${java}), ${MEMBERS} members`,
      pids: processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid])),
      stop: () => (stopping ??= stopAll(processes)),
    };
  },
};

function modeOf(srvr: string): string | undefined {
  return /^Mode:\s*(\S+)/m.exec(srvr)?.[1];
}

/** Sends a four-letter word on the client port; the member answers and closes. */
function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(word));
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}
