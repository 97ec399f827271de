// Types for the postinstall script, which stays plain JavaScript so it runs before any install.
export declare class Refusal extends Error {}
export declare const KNOWN: Record<string, [original: string, patched: string]>;
export declare function retargetC23(input: Uint8Array, baseVersion: string): Buffer;
export declare function sha256(buf: Uint8Array): string;
export declare function elfHash(name: string): number;
