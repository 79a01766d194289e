// Types of dynpack's public API (lib/api.js). The option and result shapes
// are the ones napi-rs generates from the Rust code into ../index.d.ts.
import type {
  IntegrityOptions,
  PackDynamicOptions,
  PackResult,
  PackedFileInfo,
} from '../index'

export type { IntegrityOptions, PackDynamicOptions, PackResult, PackedFileInfo }

/** Every error dynpack rejects with has a stable `code` such as `E_NO_PACKAGE_JSON`. */
export interface DynpackError extends Error {
  code: string
}

/**
 * Packs a package folder (typically a plugin's `dist-dynamic`) exactly as
 * `npm pack --ignore-scripts` does: the same tgz bytes, so the same `integrity`.
 * Resolves to what `npm pack --json` prints for it, plus `path`, the file written
 * (absent with `dryRun`). Lifecycle scripts are never run.
 */
export declare function packDynamic(
  dir: string,
  options?: PackDynamicOptions & { signal?: AbortSignal }
): Promise<PackResult>

/** The SRI string (`sha512-…` by default) of a file path or a Buffer. */
export declare function computeIntegrity(
  input: string | Buffer,
  options?: IntegrityOptions & { signal?: AbortSignal }
): Promise<string>

/**
 * Resolves true when the data matches `sri` (ssri semantics: the strongest
 * algorithm listed decides), false when it does not; rejects with
 * `E_INVALID_SRI` / `E_UNKNOWN_ALGORITHM` on a malformed SRI.
 */
export declare function verifyIntegrity(input: string | Buffer, sri: string): Promise<boolean>
