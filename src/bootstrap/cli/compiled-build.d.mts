// Types of compiled-build.mjs (plain JavaScript: it runs before any TypeScript can).
export declare const PACKAGE_ROOT: string;
export declare const COMPILED_MAIN: string;
export declare function newestSourceMtimeMs(root?: string): number;
export declare function buildIsFresh(root?: string): boolean;
export declare function build(options?: { force?: boolean; root?: string }): 'fresh' | 'built';
