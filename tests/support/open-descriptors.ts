import { readdirSync, readlinkSync } from 'node:fs';

/** One of this process's open file descriptors and what it refers to (a path, `socket:[…]`, …). */
export interface OpenDescriptor {
  readonly fd: string;
  readonly target: string;
}

/** This process's open descriptors (Linux: /proc/self/fd). */
export function openDescriptors(): OpenDescriptor[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [{ fd, target: readlinkSync(`/proc/self/fd/${fd}`) }];
    } catch {
      return []; // closed meanwhile (the listing's own descriptor)
    }
  });
}
