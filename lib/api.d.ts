// Types of dynpack's public API (lib/api.js). The option and result shapes
// are the ones napi-rs generates from the Rust code into ../index.d.ts.
import type {
  BuildOciLayoutOptions as NativeBuildOciLayoutOptions,
  OciLayoutResult,
  OciPluginInfo,
  IntegrityOptions as NativeIntegrityOptions,
  PackDynamicOptions as NativePackDynamicOptions,
  OciSbomInfo,
  PackResult,
  PackedFileInfo,
  InspectOciImageOptions,
  InspectResult,
  InspectedPlugin,
  InspectedLayer,
  InspectedFile,
  InspectCheck,
  InspectFinding,
  InspectedSignature,
  InspectedReferrer,
} from '../index'

export type { PackResult, PackedFileInfo }
export type { OciLayoutResult, OciPluginInfo, OciSbomInfo }
export type { InspectOciImageOptions, InspectResult, InspectedPlugin, InspectedLayer, InspectedFile, InspectCheck, InspectFinding }
export type { InspectedSignature, InspectedReferrer }

/** `'npm'`: byte-identical to `npm pack` (one core); `'fast'`: every core, deterministic, not npm's bytes. */
export type Compression = 'npm' | 'fast'

/** The hash algorithms of SRI strings dynpack computes and checks. */
export type IntegrityAlgorithm = 'sha512' | 'sha384' | 'sha256' | 'sha1'

/**
 * What `onProgress` receives while packDynamic or buildOciLayout reads the
 * plugin files: at most every 100 ms while the counts move, then once with
 * `done: true` and the totals (`filesDone === filesTotal`, `bytesDone ===
 * bytesTotal`) when the call succeeds. Counts never decrease. Bytes are the
 * files' unpacked sizes (`unpackedSize` of the result); files are the tar
 * entries (`entryCount`; for an image, the plugin files in the layer). The
 * rate is `bytesDone / elapsedMs`.
 */
export interface ProgressEvent {
  /** packDynamic: the folder packed (the dist-dynamic folder); buildOciLayout: the output. */
  dir: string
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
  /** Milliseconds since the call started. */
  elapsedMs: number
  /** True only for the last event, sent when the call succeeded. */
  done: boolean
}

/** Options of {@link packDynamic}. */
export interface PackDynamicOptions extends Omit<NativePackDynamicOptions, 'compression'> {
  /** Default `'npm'`. */
  compression?: Compression
  /** Package a plugin folder's export even when its version differs from the plugin's package.json (E_STALE_EXPORT otherwise), without the stale-source warning. */
  allowStale?: boolean
  signal?: AbortSignal
  /** Called with live progress (see {@link ProgressEvent}); a callback that throws rejects the call. */
  onProgress?: (event: ProgressEvent) => void
}

/** Options of {@link computeIntegrity}. */
export interface IntegrityOptions extends Omit<NativeIntegrityOptions, 'algorithms'> {
  /** Default `['sha512']`; several give several hashes, space-separated. */
  algorithms?: IntegrityAlgorithm[]
  signal?: AbortSignal
}

/** Options of {@link buildOciLayout}. */
export interface BuildOciLayoutOptions extends Omit<NativeBuildOciLayoutOptions, 'compressionLevel' | 'platform'> {
  /** Deflate level of the layer (default 3). */
  compressionLevel?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9
  /** `os/arch[/variant]`, e.g. `linux/amd64` (the default) or `linux/arm64/v8`. */
  platform?: `${string}/${string}`
  /** Package a plugin folder's export even when its version differs from the plugin's package.json (E_STALE_EXPORT otherwise), without the stale-source warning. */
  allowStale?: boolean
  signal?: AbortSignal
  /** Called with live progress over the files written into the layer (see {@link ProgressEvent}). */
  onProgress?: (event: ProgressEvent) => void
}

/** Every error dynpack rejects with has a stable `code` such as `E_NO_PACKAGE_JSON`. */
export interface DynpackError extends Error {
  code: string
  /** With `E_MONOREPO`: the dist-dynamic folders of the monorepo's exported plugins. */
  plugins?: string[]
}

/**
 * Packs a package folder (typically a plugin's `dist-dynamic`) exactly as
 * `npm pack --ignore-scripts` does: the same tgz bytes, so the same `integrity`.
 * Resolves to what `npm pack --json` prints for it, plus `path`, the file written
 * (absent with `dryRun`). Lifecycle scripts are never run. `dir` follows the
 * rule every command shares: a plugin folder holding `dist-dynamic/` packs that
 * folder (said by a process warning with code `DYNPACK_DIST_DYNAMIC`); a monorepo
 * root rejects with `E_MONOREPO`, whose `plugins` lists the folders to pack one by
 * one (the return type stays one result; `dynpack pack ROOT` packs them all);
 * a Backstage plugin's source folder without `dist-dynamic/` rejects with
 * `E_NO_DIST_DYNAMIC`, as in every function and command. A package whose
 * `workspaces` hold no Backstage package is packed as itself.
 * Wrong argument types reject with `E_INVALID_OPTION`.
 */
export declare function packDynamic(
  dir: string,
  options?: PackDynamicOptions
): Promise<PackResult>

/**
 * The SRI string (`sha512-…` by default) of a file path or a Buffer. A path
 * that is a folder, FIFO, socket or device rejects with `E_NOT_A_FILE`.
 */
export declare function computeIntegrity(
  input: string | Buffer | Uint8Array,
  options?: IntegrityOptions
): Promise<string>

/**
 * Resolves true when the data matches `sri` (ssri semantics: the strongest
 * algorithm listed decides), false when it does not; rejects with
 * `E_INVALID_SRI` / `E_UNKNOWN_ALGORITHM` on a malformed SRI.
 */
export declare function verifyIntegrity(input: string | Buffer | Uint8Array, sri: string): Promise<boolean>

/**
 * Writes a reproducible OCI image of dynamic plugins (dist-dynamic folders,
 * plugin folders that contain dist-dynamic/, unpacked published plugins, or
 * monorepo roots, which stand for every exported plugin workspace; a plugin
 * source without dist-dynamic/ rejects with `E_NO_DIST_DYNAMIC`) without a container engine: an OCI
 * image layout at `options.output` (created, or updated: other tags are kept),
 * or an oci-archive file there with `archive: true`. `SOURCE_DATE_EPOCH` sets the
 * timestamps unless `sourceDateEpoch` is given. Resolves to the digests and the
 * `oci://…!<directory>` references for dynamic-plugins.yaml. Builds into one
 * output at once (from this process or others) take turns on a file lock, so
 * every tag is recorded.
 */
export declare function buildOciLayout(
  plugins: string | string[],
  options: BuildOciLayoutOptions
): Promise<OciLayoutResult>

/** Options of {@link publishDynamic}. */
export interface PublishDynamicOptions {
  /** Registry URL; default: `publishConfig.registry` of dist-dynamic/package.json, else npm's configuration (the scope's registry first). */
  registry?: string
  /** Dist-tag; default: `publishConfig.tag`, else npm's `tag` (latest). npm requires one for prereleases. */
  tag?: string
  /** Everything but the upload (npm still checks that the version is not taken). */
  dryRun?: boolean
  /** Package a plugin folder's export even when its version differs from the plugin's package.json (E_STALE_EXPORT otherwise), without the stale-source warning. */
  allowStale?: boolean
  /** Allow registry.npmjs.org and its mirrors; refused otherwise with `E_PUBLIC_REGISTRY`. */
  allowPublicRegistry?: boolean
  /** Environment of the npm processes (default `process.env`): where npm finds .npmrc files and tokens. */
  env?: Record<string, string | undefined>
  /** The npm command (default `npm`). */
  npm?: string
  signal?: AbortSignal
  /** Milliseconds `npm publish` may wait for the registry (default 120000); then `E_PUBLISH_TIMEOUT`. */
  timeout?: number
  /** Live progress of packing the tarball (see {@link ProgressEvent}). */
  onProgress?: (event: ProgressEvent) => void
  /** Called once when the registry has not answered after 5 s (or half the timeout): what dynpack is waiting for. */
  onWait?: (wait: { package: string; registry: string; waitingFor: string; timeout: number }) => void
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
  registrySource: 'option' | 'publishConfigScope' | 'publishConfig' | 'npmConfig'
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
 * `E_PUBLISH_AUTH`, `E_PUBLISH_CONFLICT` (the version exists),
 * `E_CREDENTIALS_IN_URL` (a registry URL with user:password, never passed to
 * npm's argv), `E_NPM_TOO_OLD` (npm < 10.6, where publishConfig beats
 * --registry), `E_PUBLISH_FAILED` or `E_PUBLISH_TIMEOUT` (no answer within
 * `timeout`); publish several with `Promise.allSettled`. A monorepo root
 * rejects with `E_MONOREPO` (see {@link packDynamic}).
 */
export declare function publishDynamic(dir: string, options?: PublishDynamicOptions): Promise<PublishResult>

/**
 * Lists the plugins of an OCI image (directory, name, version, files, bytes,
 * largest file) and checks it against RHDH's installer (Python ≤ 1.10,
 * TypeScript ≥ 1.11): one check per rule (`reference`, `platform`,
 * `annotation`, `annotation-format`, `root-index`, `layer-format`,
 * `plugins-in-first-layer`, `entry-names`, `entry-size`, `links`,
 * `special-files`, `prefix-directories`), each `pass`, `warning`, `error` or
 * `skipped`; `ok` is false when one is `error`. `ref`: a layout folder, an
 * oci-archive, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, or a registry image
 * (`oci://host/repo:tag[!dir]`, `host/repo:tag`, `…@sha256:…`). The layer is
 * streamed and every blob checked against its digest; rejects with
 * `E_BAD_IMAGE` (unreadable or corrupt), `E_IMAGE_NOT_FOUND`, `E_NOT_FOUND`.
 */
export declare function inspectOciImage(
  ref: string,
  options?: InspectOciImageOptions & { signal?: AbortSignal }
): Promise<InspectResult>

/** Options of {@link sbomOf}. */
export interface SbomOfOptions {
  /** `metadata.timestamp` in seconds since 1970; default `SOURCE_DATE_EPOCH`, else no timestamp. */
  sourceDateEpoch?: number
  /** Package a plugin folder's export even when its version differs from the plugin's package.json (E_STALE_EXPORT otherwise), without the stale-source warning. */
  allowStale?: boolean
  signal?: AbortSignal
}

/** A CycloneDX 1.6 JSON BOM (only the parts dynpack writes are typed). */
export interface CycloneDxBom {
  $schema: string
  bomFormat: 'CycloneDX'
  specVersion: '1.6'
  /** `urn:uuid:<v5 uuid of the document's bytes>`: same files, same serial. */
  serialNumber: string
  version: 1
  metadata: {
    timestamp?: string
    tools: { components: CycloneDxComponent[] }
    /** The plugin itself (`type: 'application'`). */
    component: CycloneDxComponent
  }
  /** Every package in the packed node_modules, sorted by its path there. */
  components: CycloneDxComponent[]
  dependencies: Array<{ ref: string, dependsOn?: string[] }>
}

export interface CycloneDxComponent {
  type: 'application' | 'library'
  'bom-ref'?: string
  /** The npm scope, e.g. `@backstage`. */
  group?: string
  name: string
  version?: string
  description?: string
  licenses?: Array<{ license: { id: string } | { name: string } } | { expression: string }>
  /** `pkg:npm/%40scope/name@version`. */
  purl?: string
  /** SHA-512 of `sha512sum`'s listing of the package's packed files (docs/supply-chain.md). */
  hashes?: Array<{ alg: 'SHA-512', content: string }>
  /** `cdx:npm:package:bundled` and `cdx:npm:package:path` (e.g. `node_modules/a/node_modules/b`). */
  properties?: Array<{ name: string, value: string }>
}

/**
 * The CycloneDX 1.6 SBOM of what packing `dir` ships: the plugin as
 * `metadata.component`, each package found in its packed node_modules as a
 * component, dependency edges resolved as Node resolves inside the packed tree.
 * Deterministic: `JSON.stringify(bom, null, 2) + '\n'` is byte for byte what
 * `packDynamic(dir, { sbom: true })` writes to `<tgz>.cdx.json` and what
 * `buildOciLayout(dir, { sbom: true })` attaches to the image.
 */
export declare function sbomOf(dir: string, options?: SbomOfOptions): Promise<CycloneDxBom>

/**
 * Writes a cosign key pair into `dir` as `cosign generate-key-pair` does:
 * `cosign.key` (ECDSA P-256, PKCS#8 sealed with scrypt + nacl/secretbox under
 * `passphrase`, PEM `ENCRYPTED SIGSTORE PRIVATE KEY`, mode 0600) and `cosign.pub`
 * (PEM `PUBLIC KEY`). Never overwrites (`E_KEY`). Resolves to the two paths.
 */
export declare function cosignGenerateKeyPair(
  dir: string,
  options: { passphrase: string }
): Promise<{ privateKey: string, publicKey: string }>

/**
 * The cosign signature of the image `reference` whose manifest is `digest`:
 * the simple-signing payload (`{"critical":{"identity":{"docker-reference":…},
 * "image":{"docker-manifest-digest":…},"type":"cosign container image signature"},
 * "optional":null}`) and its base64 ASN.1 DER ECDSA-P256/SHA-256 signature, with
 * the key file `key` (cosign's encrypted PEM, both labels, with `passphrase`,
 * default `COSIGN_PASSWORD`; or plain PKCS#8 / SEC1 PEM). A wrong passphrase
 * rejects with `E_KEY`. Nothing is pushed.
 */
export declare function cosignSign(options: {
  key: string
  passphrase?: string
  reference: string
  digest: string
}): Promise<{ payload: string, signature: string, publicKey: string }>
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
  /**
   * Digests of blobs uploaded during the build (buildOciLayout's `uploadLayer`:
   * its `layerDigest` when `layerUpload.uploaded`): found in the registry, they
   * count as uploaded rather than existing.
   */
  streamedBlobs?: string[]
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
  /**
   * Referrers of the image in the layout (its SBOMs), pushed after it by
   * digest; listed in the `sha256-<hex>` tag index where the registry has
   * no referrers API.
   */
  referrers: number
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

export interface SignOciImageOptions {
  /** The private key file: cosign.key (encrypted) or a PKCS#8 / SEC1 PEM. */
  key: string
  /** The passphrase of an encrypted cosign key; default `COSIGN_PASSWORD`. */
  passphrase?: string
  authfile?: string
  creds?: string
  certDir?: string
  tlsVerify?: boolean
  signal?: AbortSignal
}

export interface SignOciImageResult {
  /** `<repository>@<digest>`: the image the signature is for. */
  reference: string
  digest: string
  /** `<repository>:sha256-<hex>.sig`. */
  signatureTag: string
  signatureDigest: string
  /** Signatures the tag holds now. */
  signatures: number
  /** This key had already signed this digest: nothing was sent. */
  upToDate: boolean
}

/**
 * Signs an image in its registry with a cosign key (as `cosign sign --key`):
 * the simple-signing payload names the repository and the digest the
 * registry serves; the signature is pushed to `sha256-<hex>.sig`.
 * Rejects with `E_KEY` (unreadable key, wrong passphrase),
 * `E_IMAGE_NOT_FOUND`, and the registry codes of pushOciImage.
 */
export declare function signOciImage(ref: string, options: SignOciImageOptions): Promise<SignOciImageResult>

/** `spec.support` of an Extensions entity: a word, or who supports it at which level. */
export type CatalogSupport = string | {
  provider: string
  /** `production` is written `generally-available` on Plugin entities (and the reverse). */
  level: 'production' | 'generally-available' | 'tech-preview' | 'dev-preview' | 'community' | 'none'
}

/** One plugin package of {@link catalogEntities}: where it is and what RHDH installs. */
export interface CatalogPluginInput {
  /** The dist-dynamic folder (its package.json gives name, version, role, links, keywords). */
  dir: string
  /** The plugin's source folder (package.json `catalog` and `backstage.pluginId`, app-config); default: the parent of a dist-dynamic folder. */
  source?: string
  /** Exactly what RHDH installs: `oci://host/repo@sha256:…!dir`, a tgz URL, or `name@version`. */
  dynamicArtifact: string
  /** The SRI integrity of a tgz or npm artifact. */
  integrity?: string
  /** The plugin's pluginConfig; default: parsed from its app-config file. */
  pluginConfig?: Record<string, unknown>
}

export interface CatalogEntitiesOptions {
  support?: CatalogSupport
  lifecycle?: string
  namespace?: string
  /** List the plugins enabled (`disabled: false`) in dynamic-plugins.default.yaml. */
  enable?: boolean
  /** Per Plugin entity name: overrides the package.json `catalog` sections. */
  plugins?: Record<string, { title?: string; description?: string; categories?: string[]; icon?: string; highlights?: string[] }>
}

/** An Extensions catalog entity (extensions.backstage.io/v1alpha1). */
export interface CatalogEntity {
  apiVersion: 'extensions.backstage.io/v1alpha1'
  kind: 'Package' | 'Plugin'
  metadata: { name: string; namespace?: string; title?: string; description?: string; tags?: string[]; links?: { url: string; title: string }[] }
  spec: Record<string, unknown>
}

export interface CatalogEntitiesResult {
  packages: CatalogEntity[]
  plugins: CatalogEntity[]
  /** The `plugins:` entries of dynamic-plugins.default.yaml. */
  defaults: { package: string; integrity?: string; disabled: boolean; pluginConfig?: Record<string, unknown> }[]
  /** The all.yaml Location listing every entity file. */
  location: { apiVersion: string; kind: 'Location'; metadata: { name: string }; spec: { targets: string[] } }
}

/**
 * The RHDH Extensions catalog entities of `plugins`: a Package per plugin
 * package, a Plugin per Backstage plugin (`backstage.pluginId`) listing its
 * packages, and the dynamic-plugins.default.yaml entries. Rejects with
 * E_CATALOG_NO_VERSION, E_CATALOG_INVALID_NAME, E_CATALOG_DUPLICATE_NAME or
 * E_CATALOG_INVALID_FIELD naming the file and field.
 */
export declare function catalogEntities(plugins: CatalogPluginInput[], options?: CatalogEntitiesOptions): Promise<CatalogEntitiesResult>

export interface BuildCatalogIndexOptions {
  /** The index image, e.g. quay.io/acme/catalog-index:1.0 (the rules of every dynpack tag: E_INVALID_TAG). */
  tag: string
  /** The OCI image layout to write: a new or empty folder, or a layout whose other tags are kept (E_OCI_LAYOUT otherwise); default: a temporary folder. */
  output?: string
  push?: boolean
  /** Resolve every `spec.dynamicArtifact` first (E_CATALOG_UNRESOLVED). */
  check?: boolean
  /** With `push`: sign the index with this cosign key. */
  signKey?: string
  passphrase?: string
  sourceDateEpoch?: number
  authfile?: string
  creds?: string
  certDir?: string
  tlsVerify?: boolean
  signal?: AbortSignal
}

export interface BuildCatalogIndexResult {
  output: string | null
  tag: string
  refName: string
  manifestDigest: string
  layerDigest: string
  layerSize: number
  /** The files of the layer, e.g. dynamic-plugins.default.yaml, catalog-entities/extensions/all.yaml. */
  files: string[]
  packages: string[]
  plugins: string[]
  notes: string[]
  pushed?: PushOciImageResult
  signed?: SignOciImageResult
}

/**
 * Builds the one-layer, reproducible catalog index image of `dir`
 * (dynamic-plugins.default.yaml and catalog-entities/ at the layer root)
 * after checking every entity against the published Extensions schemas
 * (E_CATALOG_INVALID_ENTITY naming the file and field,
 * E_CATALOG_DUPLICATE_NAME), and pushes it with `push`.
 */
export declare function buildCatalogIndex(dir: string, options: BuildCatalogIndexOptions): Promise<BuildCatalogIndexResult>

export interface MirrorSide {
  authfile?: string
  creds?: string
  certDir?: string
  tlsVerify?: boolean
}

export interface MirrorDynamicPluginsOptions {
  /** `host[:port]/prefix`: images go to `<to>/<original repository path>`. Either this or toDir. */
  to?: string
  /**
   * The first of two hops: everything goes into this folder (an OCI image
   * layout `oci/`, `tgz/`, the config and `mirror.json`); pass the folder as
   * `config` with `to` on the other side for the same result.
   */
  toDir?: string
  /** Write the rewritten config there (temp name, renamed), only when every entry was mirrored. */
  out?: string
  dryRun?: boolean
  /** The folder an httpd serves, for tgz URL and npm entries. */
  tgzDir?: string
  /** The URL of tgzDir as the cluster sees it. */
  baseUrl?: string
  /** Publish npm entries to this private registry instead (E_PUBLIC_REGISTRY for the public one). */
  npmRegistry?: string
  src?: MirrorSide
  dest?: MirrorSide
  signal?: AbortSignal
  onProgress?: (bytesSent: number) => void
}

export interface MirroredImage {
  source: string
  digest: string
  /** `<to>/<repository>@<digest>`. */
  reference: string
  movedTag?: string
  manifests: number
  blobs: number
  uploaded: number
  mounted: number
  existing: number
  bytesUploaded: number
  bytesTotal: number
  /** The cosign `.sig` tag was there and was copied. */
  signature: boolean
  referrers: number
}

export interface MirrorDynamicPluginsResult {
  /** The rewritten config text. */
  config: string
  images: MirroredImage[]
  tgz: Array<{ package: string, file: string, url: string, integrity: string }>
  npm: Array<{ package: string, file?: string, url?: string, registry?: string, integrity: string }>
  /** Entries that cannot be mirrored, kept as they are. */
  kept: Array<{ package: string, reason: string }>
  movedTags: string[]
  /** The file written (options.out) or the folder (options.toDir), else null. */
  written: string | null
}

/**
 * Copies what a dynamic-plugins.yaml (or RHDH ConfigMap) needs to a
 * mirror: images by digest with their signatures and referrers, tgz and npm
 * entries checked against their integrity (E_INTEGRITY); resolves to the
 * rewritten config and a report. `config` is a dynamic-plugins.yaml, an
 * RHDH ConfigMap holding one, or a folder written with `toDir`.
 */
export declare function mirrorDynamicPlugins(config: string, options: MirrorDynamicPluginsOptions): Promise<MirrorDynamicPluginsResult>
