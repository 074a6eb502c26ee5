// Which of our child processes opened a loopback TCP connection, from the connection's far
// end as a proxy sees it (Linux: /proc/net/tcp gives the socket's inode, /proc/<pid>/fd tells
// whose it is). With it, one proxy in front of a node can part the link from one peer and not
// from another, although every peer dials the same address.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The name of the process (among `processes`, name to pid) holding the socket whose local end
 * is 127.0.0.1:`port` and whose far end is 127.0.0.1:`peerPort`; undefined when none of them does.
 */
export function connectionSource(port: number, peerPort: number, processes: ReadonlyMap<string, number>): string | undefined {
  const inode = socketInode(port, peerPort);
  if (inode === undefined) return undefined;
  const wanted = `socket:[${inode}]`;
  for (const [name, pid] of processes) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted) return name;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

const LOOPBACK_HEX = '0100007F';

function socketInode(port: number, peerPort: number): string | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const local = `${LOOPBACK_HEX}:${hexPort(port)}`;
  const remote = `${LOOPBACK_HEX}:${hexPort(peerPort)}`;
  for (const line of text.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) return f[9];
  }
  return undefined;
}

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
