// Types of dynpack's public API (lib/api.js). The option and result shapes
// are the ones napi-rs generates from the Rust code into ../index.d.ts.
import type {
  BuildOciLayoutOptions,
  OciLayoutResult,
  OciPluginInfo,
  IntegrityOptions,
  PackDynamicOptions,
  PackResult,
  PackedFileInfo,
} from '../index'

export type { IntegrityOptions, PackDynamicOptions, PackResult, PackedFileInfo }
export type { BuildOciLayoutOptions, OciLayoutResult, OciPluginInfo }

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

/**
 * The SRI string (`sha512-…` by default) of a file path or a Buffer. A path
 * that is a folder, FIFO, socket or device rejects with `E_NOT_A_FILE`.
 */
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

/**
 * Writes a reproducible OCI image of dynamic plugins (dist-dynamic folders, or
 * plugin folders that contain dist-dynamic/) without a container engine: an OCI
 * image layout at `options.output` (created, or updated: other tags are kept),
 * or an oci-archive file there with `archive: true`. `SOURCE_DATE_EPOCH` sets the
 * timestamps unless `sourceDateEpoch` is given. Resolves to the digests and the
 * `oci://…!<directory>` references for dynamic-plugins.yaml. Builds into one
 * output at once (from this process or others) take turns on a file lock, so
 * every tag is recorded.
 */
export declare function buildOciLayout(
  plugins: string | string[],
  options: BuildOciLayoutOptions & { signal?: AbortSignal }
): Promise<OciLayoutResult>

/** Options of {@link publishDynamic}. */
export interface PublishDynamicOptions {
  /** Registry URL; default: `publishConfig.registry` of dist-dynamic/package.json, else npm's configuration (the scope's registry first). */
  registry?: string
  /** Dist-tag; default: `publishConfig.tag`, else npm's `tag` (latest). npm requires one for prereleases. */
  tag?: string
  /** Everything but the upload (npm still checks that the version is not taken). */
  dryRun?: boolean
  /** Allow registry.npmjs.org and its mirrors; refused otherwise with `E_PUBLIC_REGISTRY`. */
  allowPublicRegistry?: boolean
  /** Environment of the npm processes (default `process.env`): where npm finds .npmrc files and tokens. */
  env?: Record<string, string | undefined>
  /** The npm command (default `npm`). */
  npm?: string
  signal?: AbortSignal
}

/** What {@link publishDynamic} published. */
export interface PublishResult {
  /** The dist-dynamic folder published. */
  dir: string
  /** The plugin folder around it whose package.json was compared, or null. */
  source: string | null
  name: string
  version: string
  /** `<name>@<version>`: the `package` of the dynamic-plugins.yaml entry. */
  package: string
  /** `sha512-…` of the tarball: npm pack's, and the registry's `dist.integrity`. */
  integrity: string
  shasum: string
  filename: string
  size: number
  /** The registry URL (credentials in it hidden), ending with `/`. */
  registry: string
  registrySource: 'option' | 'publishConfig' | 'npmConfig'
  tag: string
  dryRun: boolean
  /** False for a dry run. */
  published: boolean
  /** The .npmrc RHDH's plugin installer needs to reach the registry (token as a placeholder). */
  npmrc: string
  /** E.g. the plugin and dist-dynamic package.json disagree on publishConfig. */
  warnings: string[]
}

/**
 * Publishes one dynamic plugin (a dist-dynamic folder, or a plugin folder that
 * contains dist-dynamic/) to a private npm registry: packs it as `npm pack`
 * does, then runs `npm publish <file.tgz>` in the dist-dynamic folder, so npm's
 * own authentication applies. Rejects with `E_PUBLIC_REGISTRY`,
 * `E_PUBLISH_AUTH`, `E_PUBLISH_CONFLICT` (the version exists) or
 * `E_PUBLISH_FAILED`; publish several with `Promise.allSettled`.
 */
export declare function publishDynamic(dir: string, options?: PublishDynamicOptions): Promise<PublishResult>

export interface PushOciImageOptions {
  /** The image in the layout (`org.opencontainers.image.ref.name`); default: the only one. */
  refName?: string
  /** Where to push, `host/repo:tag`; default: the reference the image was built for. */
  tag?: string
  /** The auth.json read first (else `REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`, `~/.docker/config.json`). */
  authfile?: string
  /** `USER:PASSWORD`, instead of any auth file. */
  creds?: string
  /** CAs (`*.crt`) and client certificates (`*.cert` + `*.key`), instead of certs.d. */
  certDir?: string
  /** `false`: accept any certificate and fall back to plain HTTP (as skopeo's `--tls-verify=false`). */
  tlsVerify?: boolean
  /** Repositories (`host/path`) of the same registry to mount blobs from. */
  mountFrom?: string[]
  /** Called about every 200 ms with the bytes sent so far. */
  onProgress?: (bytesSent: number) => void
  signal?: AbortSignal
}

export interface PushOciImageResult {
  /** The reference pushed, e.g. `quay.io/acme/x:1.0.0`. */
  tag: string
  /** `quay.io/acme/x`. */
  repository: string
  /** The manifest digest (the registry reported the same). */
  digest: string
  /** `<repository>@<digest>`. */
  reference: string
  /** The tag already pointed at this digest; nothing was sent. */
  upToDate: boolean
  blobs: { uploaded: number; mounted: number; existing: number }
  bytesUploaded: number
}

/**
 * Pushes an image of an OCI layout folder (default `dist-oci`) or an
 * oci-archive to a registry, the manifest last with its exact bytes.
 * Rejects with `E_REGISTRY_AUTH`, `E_REGISTRY_DENIED`,
 * `E_REGISTRY_UNREACHABLE`, `E_REGISTRY_TLS`, `E_REGISTRY_PROTOCOL`,
 * `E_IMAGE_NOT_FOUND`; a failed push leaves the remote tag as it was.
 */
export declare function pushOciImage(source?: string, options?: PushOciImageOptions): Promise<PushOciImageResult>

export interface RegistryLoginOptions {
  /** The auth.json to write (default: `REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`). */
  authfile?: string
  certDir?: string
  tlsVerify?: boolean
  signal?: AbortSignal
}

/** Checks the credentials against `host` and stores them as `podman login` does; resolves to the file. */
export declare function registryLogin(host: string, username: string, password: string, options?: RegistryLoginOptions): Promise<string>

/** Removes `host` from that auth.json. */
export declare function registryLogout(host: string, options?: { authfile?: string }): Promise<{ removed: boolean; file: string }>
