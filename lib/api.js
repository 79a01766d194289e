'use strict'
// The public API: a thin layer over the generated napi loader (../index.js).
// It turns native errors into errors with a stable `code`, makes every call
// reject instead of throwing, wires AbortSignals to the Rust side, and checks
// once per process that the addon's gzip equals Node's own zlib.gzipSync.

const path = require('node:path')
const zlib = require('node:zlib')
const native = require('./addon.js').loadAddon()
const { dynpackError, toDynpackError, typeName, checkOptions } = require('./errors.js')
const { resolveFolder, singleFolder } = require('./folders.js')

function abortError (signal) {
  const e = dynpackError('E_ABORTED', 'the operation was aborted')
  e.name = 'AbortError'
  if (signal && signal.reason !== undefined) e.cause = signal.reason
  return e
}

/** Runs `start(cancelToken)` with errors mapped and an optional AbortSignal wired in. */
async function run (signal, start) {
  if (signal != null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw dynpackError('E_INVALID_OPTION', 'signal must be an AbortSignal')
  }
  if (signal && signal.aborted) throw abortError(signal)
  const token = signal ? new native.CancelToken() : undefined
  const onAbort = () => token.cancel()
  if (signal) signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await start(token)
  } catch (err) {
    const e = toDynpackError(err)
    if (e.code === 'E_ABORTED') throw abortError(signal)
    throw e
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort)
  }
}

/** How often a running task's progress counters are sampled for `onProgress`. */
const PROGRESS_INTERVAL_MS = 100

/**
 * Runs `start(counter)` and, when `onProgress` is given, calls it with
 * `{ dir, filesDone, filesTotal, bytesDone, bytesTotal, elapsedMs, done }`
 * at most every PROGRESS_INTERVAL_MS while the counters move, and once more
 * with `done: true` and the totals when the task succeeded. The task only
 * adds to atomic counters (src/progress.rs); sampling happens here, on a
 * timer, so a slow callback never slows the worker. A callback that throws
 * is not called again, and the task rejects with its error.
 */
async function withProgress (onProgress, dir, start) {
  if (onProgress === undefined) return start(undefined)
  const counter = new native.ProgressCounter()
  const started = Date.now()
  let last = ''
  let lastAt = -Infinity
  let failure = null
  const emit = (done) => {
    if (failure) return
    // A timer that ran late is followed by one that runs early (libuv counts from the
    // loop's time): the gap between two events is kept, not only the timer's period.
    const elapsedMs = Date.now() - started
    if (!done && elapsedMs - lastAt < PROGRESS_INTERVAL_MS - 10) return
    const [filesDone, filesTotal, bytesDone, bytesTotal] = counter.snapshot()
    const key = `${filesDone}/${filesTotal}/${bytesDone}/${bytesTotal}/${done}`
    if (key === last || (!done && filesTotal === 0)) return
    last = key
    lastAt = elapsedMs
    try {
      onProgress({ dir, filesDone, filesTotal, bytesDone, bytesTotal, elapsedMs, done })
    } catch (err) {
      failure = { err }
    }
  }
  const timer = setInterval(() => emit(false), PROGRESS_INTERVAL_MS)
  let result
  try {
    result = await start(counter)
  } finally {
    clearInterval(timer)
  }
  emit(true)
  if (failure) throw failure.err
  return result
}

let zlibChecked = false
/**
 * Byte identity with npm rests on the addon calling the very zlib that
 * node:zlib uses. Check it once: the same input must give the same bytes.
 */
function checkHostZlib () {
  if (zlibChecked) return
  // 64 KiB: more than the 32 KiB window, and only a few ms on the main thread.
  const sample = Buffer.alloc(64 * 1024)
  let x = 0x2545f491
  for (let i = 0; i < sample.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    // mostly text-like bytes, so that matches of every length occur
    sample[i] = 32 + ((x >>> 0) % 48) + (i % 7 === 0 ? 17 : 0)
  }
  const expected = zlib.gzipSync(sample, { level: 9 })
  expected[9] = 0xff
  let actual
  try {
    actual = native.npmGzipSync(sample)
  } catch (err) {
    throw toDynpackError(err)
  }
  if (!actual.equals(expected)) {
    throw dynpackError('E_ZLIB_MISMATCH',
      `the addon's zlib does not produce node:zlib's bytes (zlib ${process.versions.zlib}); ` +
      "byte-identical packing is impossible in this process. Use compression 'fast'.")
  }
  zlibChecked = true
}

/** A file path or the bytes themselves: what computeIntegrity and verifyIntegrity hash. */
function checkInput (input, fn) {
  if (typeof input === 'string' && input !== '') return path.resolve(input)
  if (Buffer.isBuffer(input)) return input
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  throw dynpackError('E_INVALID_OPTION', `${fn}: input must be a file path (a non-empty string) or a Buffer, not ${typeName(input)}`)
}

function resolveDir (dir, what) {
  if (typeof dir !== 'string' || dir === '') {
    throw dynpackError('E_INVALID_OPTION', `${what} must be a non-empty string, not ${typeName(dir)}`)
  }
  return path.resolve(dir)
}

/**
 * Packs a package folder (a dist-dynamic folder) exactly as
 * `npm pack --ignore-scripts` does. Resolves to npm's --json object plus `path`.
 */
async function packDynamic (dir, options = {}) {
  options = checkOptions(options, { destination: 'string', dryRun: 'boolean', compression: ['npm', 'fast'], onProgress: 'function', allowStale: 'boolean' }, 'packDynamic')
  const { signal, onProgress, allowStale, ...rest } = options
  const given = resolveDir(dir, 'dir')
  const resolved = singleFolder(given, 'packDynamic', { allowStale })
  const abs = resolved.folders[0].dir
  if (resolved.mode === 'plugin') {
    process.emitWarning(`packing ${abs}, the dynamic plugin exported from ${given}`, { code: 'DYNPACK_DIST_DYNAMIC' })
  }
  const nativeOptions = { ...rest }
  if (rest.destination !== undefined) nativeOptions.destination = resolveDir(rest.destination, 'destination')
  // Only the SBOM has a timestamp: SOURCE_DATE_EPOCH matters only with `sbom: true`.
  if (rest.sbom) nativeOptions.sourceDateEpoch = sbomEpoch(rest.sourceDateEpoch)
  else delete nativeOptions.sourceDateEpoch
  if ((rest.compression ?? 'npm') === 'npm') {
    try { checkHostZlib() } catch (e) { throw e }
  }
  const result = await withProgress(onProgress, abs, (counter) => run(signal, (token) => native.packDynamic(abs, nativeOptions, token, counter)))
  if (result.path == null) delete result.path
  if (result.sbom == null) delete result.sbom
  return result
}

/** The SRI string (default `sha512-…`) of a file path or a Buffer. */
async function computeIntegrity (input, options = {}) {
  const { signal, ...rest } = checkOptions(options, { algorithms: 'strings' }, 'computeIntegrity')
  const arg = checkInput(input, 'computeIntegrity')
  return run(signal, (token) => native.computeIntegrity(arg, rest, token))
}

/** Resolves true when the data matches the SRI string, false when not. */
async function verifyIntegrity (input, sri) {
  const arg = checkInput(input, 'verifyIntegrity')
  if (typeof sri !== 'string') throw dynpackError('E_INVALID_SRI', 'the integrity must be a string such as sha512-…')
  return run(undefined, () => native.verifyIntegrity(arg, sri))
}

/** `SOURCE_DATE_EPOCH` as reproducible-builds.org defines it: decimal seconds. */
function envSourceDateEpoch () {
  const raw = process.env.SOURCE_DATE_EPOCH
  if (raw === undefined || raw === '') return undefined
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw dynpackError('E_INVALID_OPTION',
      `SOURCE_DATE_EPOCH=${JSON.stringify(raw)} is not a number of seconds since 1970; fix or unset it`)
  }
  return Number(raw)
}

/** The SBOM timestamp: the option, else SOURCE_DATE_EPOCH, else none. */
function sbomEpoch (option) {
  if (option === undefined) return envSourceDateEpoch()
  if (!Number.isSafeInteger(option) || option < 0) {
    throw dynpackError('E_INVALID_OPTION', 'sourceDateEpoch must be a whole number of seconds since 1970')
  }
  return option
}

/**
 * The CycloneDX 1.6 SBOM of what packing `dir` ships (a dist-dynamic folder,
 * or a plugin folder containing dist-dynamic/), as a parsed object whose
 * `JSON.stringify(sbom, null, 2) + '\n'` is the exact text `pack --sbom` writes.
 */
async function sbomOf (dir, options = {}) {
  options = options ?? {}
  if (typeof options !== 'object') throw dynpackError('E_INVALID_OPTION', 'options must be an object')
  const { signal, sourceDateEpoch, allowStale } = checkOptions(options, { allowStale: 'boolean' }, 'sbomOf')
  const abs = singleFolder(resolveDir(dir, 'dir'), 'sbomOf', { allowStale }).folders[0].dir
  const nativeOptions = { sourceDateEpoch: sbomEpoch(sourceDateEpoch) }
  const text = await run(signal, (token) => native.sbomOf(abs, nativeOptions, token))
  return JSON.parse(text)
}

/**
 * Writes a reproducible OCI image of one or more dynamic plugins (dist-dynamic
 * folders, or plugin folders containing dist-dynamic/) into an image layout
 * folder, or an oci-archive file with `archive: true`, tagged `options.tag`.
 */
async function buildOciLayout (plugins, options) {
  if (options == null || typeof options !== 'object') {
    throw dynpackError('E_INVALID_OPTION', 'options must be an object with at least `output` and `tag`')
  }
  const list = Array.isArray(plugins) ? plugins : [plugins]
  if (list.length === 0) throw dynpackError('E_INVALID_OPTION', 'pass at least one plugin folder')
  const { allowStale, ...imageOptions } = checkOptions(options, { allowStale: 'boolean' }, 'buildOciLayout')
  options = imageOptions
  // The folder rule of every command (lib/folders.js): a plugin folder means its dist-dynamic/, a
  // monorepo root its exported plugins (one image holds them all), a plugin source is refused.
  const dirs = list.map((p, i) => resolveDir(p, Array.isArray(plugins) ? `plugins[${i}]` : 'plugins')).flatMap((dir) => {
    const resolved = resolveFolder(dir, { allowStale })
    if (resolved.mode !== 'monorepo') return [resolved.folders[0].dir]
    if (resolved.folders.length === 0) {
      throw dynpackError('E_NO_PLUGINS', `${dir}: none of the ${resolved.skipped.length} workspaces is an exported Backstage plugin (a plugin backstage.role and a dist-dynamic/ folder); export the plugins first`)
    }
    return resolved.folders.map((f) => f.dir)
  })
  checkOptions(options, {
    output: 'string', tag: 'string', refName: 'string', archive: 'boolean', platform: 'string', annotations: 'stringMap', labels: 'stringMap', allowPrefixDirectories: 'boolean', compressionLevel: [1, 2, 3, 4, 5, 6, 7, 8, 9], onProgress: 'function', uploadLayer: 'object',
  }, 'buildOciLayout')
  const { signal, onProgress, ...rest } = options
  if (typeof rest.tag !== 'string' || rest.tag === '') {
    throw dynpackError('E_INVALID_TAG', 'options.tag must name the image, e.g. quay.io/<org>/<image>:<version>')
  }
  const nativeOptions = { ...rest, output: resolveDir(rest.output, 'options.output') }
  if (rest.uploadLayer !== undefined) {
    if (rest.uploadLayer === null) throw dynpackError('E_INVALID_OPTION', 'buildOciLayout: options.uploadLayer must be an object (the registry options), not null')
    nativeOptions.uploadLayer = registryConnection(rest.uploadLayer, 'options.uploadLayer')
  }
  if (nativeOptions.sourceDateEpoch === undefined) {
    const epoch = envSourceDateEpoch()
    if (epoch !== undefined) nativeOptions.sourceDateEpoch = epoch
  } else if (!Number.isSafeInteger(nativeOptions.sourceDateEpoch) || nativeOptions.sourceDateEpoch < 0) {
    throw dynpackError('E_INVALID_OPTION', 'options.sourceDateEpoch must be a whole number of seconds since 1970')
  }
  for (const key of ['annotations', 'labels']) {
    const map = nativeOptions[key]
    if (map === undefined) continue
    if (map === null || typeof map !== 'object' || Array.isArray(map) ||
        Object.values(map).some((v) => typeof v !== 'string')) {
      throw dynpackError('E_INVALID_OPTION', `options.${key} must be an object of string values`)
    }
  }
  return withProgress(onProgress, nativeOptions.output, (counter) =>
    run(signal, (token) => native.buildOciLayout(dirs.length === 1 ? dirs[0] : dirs, nativeOptions, token, counter)))
}

/**
 * Lists the plugins of an OCI image and checks it against what RHDH's plugin
 * installer needs. `ref` is a layout folder, an oci-archive file, `oci:DIR[:REF]`,
 * `oci-archive:FILE[:REF]`, or a registry image (`oci://host/repo:tag[!dir]`,
 * `host/repo:tag`, `host/repo@sha256:…`). Resolves to the report, whose `ok`
 * is false when a check failed; rejects only when the image cannot be read.
 */
async function inspectOciImage (ref, options = {}) {
  options = options ?? {}
  if (typeof options !== 'object') throw dynpackError('E_INVALID_OPTION', 'options must be an object')
  if (typeof ref !== 'string' || ref === '') {
    throw dynpackError('E_INVALID_OPTION', 'ref must name a layout folder, an oci-archive file or an image reference')
  }
  const { signal, cwd, ...rest } = options
  const nativeOptions = { ...rest, cwd: cwd === undefined ? process.cwd() : resolveDir(cwd, 'options.cwd') }
  if (rest.key !== undefined) {
    if (typeof rest.key !== 'string' || rest.key === '') throw dynpackError('E_INVALID_OPTION', 'options.key must name a public key file (cosign.pub)')
    nativeOptions.key = path.resolve(nativeOptions.cwd, rest.key)
  }
  if (rest.anyRepository !== undefined && typeof rest.anyRepository !== 'boolean') {
    throw dynpackError('E_INVALID_OPTION', 'options.anyRepository must be a boolean')
  }
  return run(signal, (token) => native.inspectOciImage(ref, nativeOptions, token))
}

/**
 * Writes `cosign.key` (ECDSA P-256, encrypted with `passphrase` as cosign does)
 * and `cosign.pub` into `dir`; never overwrites. Resolves to the two paths.
 */
async function cosignGenerateKeyPair (dir, options = {}) {
  const abs = resolveDir(dir, 'dir')
  const passphrase = (options ?? {}).passphrase
  if (typeof passphrase !== 'string') throw dynpackError('E_INVALID_OPTION', 'options.passphrase must be a string (it may be empty)')
  return run(undefined, () => native.cosignGenerateKeyPair(abs, passphrase))
}

/**
 * The cosign signature of an image: the simple-signing payload for
 * `reference` + `digest` and its base64 ECDSA-P256 signature, made with the key
 * file `key` (cosign's encrypted PEM with `passphrase`, default
 * `COSIGN_PASSWORD`; or a plain PKCS#8 PEM). Nothing is pushed.
 */
async function cosignSign ({ key, passphrase, reference, digest } = {}) {
  const keyPath = path.resolve(String(key ?? ''))
  if (typeof reference !== 'string' || typeof digest !== 'string') {
    throw dynpackError('E_INVALID_OPTION', 'reference and digest must be strings (the image reference and its sha256:… manifest digest)')
  }
  const pass = passphrase ?? process.env.COSIGN_PASSWORD
  return run(undefined, () => native.cosignSign(keyPath, pass ?? null, reference, digest))
}

const PUSH_OPTIONS = new Set(['refName', 'tag', 'authfile', 'creds', 'certDir', 'tlsVerify', 'mountFrom', 'streamedBlobs', 'signal', 'onProgress'])

/**
 * How to reach a registry (pushOciImage's options, buildOciLayout's
 * `uploadLayer`): checked, file paths made absolute.
 */
function registryConnection (options, what) {
  const out = {}
  for (const key of ['authfile', 'creds', 'certDir']) {
    const v = options[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || v === '') throw dynpackError('E_INVALID_OPTION', `${what}.${key} must be a non-empty string`)
    out[key] = key === 'creds' ? v : path.resolve(v)
  }
  if (options.tlsVerify !== undefined) {
    if (typeof options.tlsVerify !== 'boolean') throw dynpackError('E_INVALID_OPTION', `${what}.tlsVerify must be a boolean`)
    out.tlsVerify = options.tlsVerify
  }
  return out
}

/**
 * Pushes an image of an OCI layout folder (default `dist-oci`) or an
 * oci-archive file to a registry: blobs first (only those missing), the
 * manifest last with its exact bytes. Resolves to
 * `{ tag, repository, digest, reference, upToDate, blobs, bytesUploaded }`.
 * `onProgress(bytesSent)` is called about every 200 ms while blobs upload.
 */
async function pushOciImage (source = 'dist-oci', options = {}) {
  options = options ?? {}
  if (typeof options !== 'object') throw dynpackError('E_INVALID_OPTION', 'options must be an object')
  for (const key of Object.keys(options)) {
    if (!PUSH_OPTIONS.has(key)) throw dynpackError('E_INVALID_OPTION', `unknown option ${key} (known: ${[...PUSH_OPTIONS].join(', ')})`)
  }
  const { signal, onProgress, ...rest } = options
  for (const key of ['refName', 'tag']) {
    if (rest[key] !== undefined && (typeof rest[key] !== 'string' || rest[key] === '')) {
      throw dynpackError('E_INVALID_OPTION', `options.${key} must be a non-empty string`)
    }
  }
  if (rest.streamedBlobs !== undefined && !(Array.isArray(rest.streamedBlobs) && rest.streamedBlobs.every((d) => typeof d === 'string'))) {
    throw dynpackError('E_INVALID_OPTION', 'options.streamedBlobs must be an array of digests (strings)')
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw dynpackError('E_INVALID_OPTION', 'options.onProgress must be a function')
  }
  const abs = resolveDir(source, 'source')
  const nativeOptions = { ...rest, ...registryConnection(rest, 'options') }
  const progress = onProgress ? new native.PushProgress() : undefined
  let last = -1
  const report = () => {
    const bytes = progress.bytes
    if (bytes !== last) { last = bytes; onProgress(bytes) }
  }
  const timer = progress ? setInterval(report, 200) : undefined
  try {
    return await run(signal, (token) => native.pushOciImage(abs, nativeOptions, token, progress))
  } finally {
    if (timer) { clearInterval(timer); report() }
  }
}

const SIGN_OPTIONS = new Set(['key', 'passphrase', 'authfile', 'creds', 'certDir', 'tlsVerify', 'signal'])

/**
 * Signs the image `ref` (`host/repo:tag` or `host/repo@sha256:…`) in its
 * registry with a cosign key, as `cosign sign --key` does: the simple-signing
 * payload for `<repository>` + the manifest digest the registry serves,
 * signed with ECDSA P-256, pushed as a layer of `<repository>:sha256-<hex>.sig`
 * (existing signatures are kept). `passphrase` defaults to
 * `COSIGN_PASSWORD`. Resolves to
 * `{ reference, digest, signatureTag, signatureDigest, signatures, upToDate }`.
 */
async function signOciImage (ref, options = {}) {
  options = options ?? {}
  if (typeof options !== 'object') throw dynpackError('E_INVALID_OPTION', 'options must be an object')
  for (const key of Object.keys(options)) {
    if (!SIGN_OPTIONS.has(key)) throw dynpackError('E_INVALID_OPTION', `unknown option ${key} (known: ${[...SIGN_OPTIONS].join(', ')})`)
  }
  if (typeof ref !== 'string' || ref === '') throw dynpackError('E_INVALID_OPTION', 'ref must be an image reference (host/repository:tag or @sha256:…)')
  const { signal, ...rest } = options
  for (const key of ['key', 'authfile', 'creds', 'certDir']) {
    if (rest[key] !== undefined && (typeof rest[key] !== 'string' || rest[key] === '')) {
      throw dynpackError('E_INVALID_OPTION', `options.${key} must be a non-empty string`)
    }
  }
  if (rest.key === undefined) throw dynpackError('E_INVALID_OPTION', 'options.key must name the private key file (cosign.key)')
  if (rest.passphrase !== undefined && typeof rest.passphrase !== 'string') {
    throw dynpackError('E_INVALID_OPTION', 'options.passphrase must be a string')
  }
  if (rest.tlsVerify !== undefined && typeof rest.tlsVerify !== 'boolean') {
    throw dynpackError('E_INVALID_OPTION', 'options.tlsVerify must be a boolean')
  }
  const nativeOptions = { ...rest }
  for (const key of ['key', 'authfile', 'certDir']) {
    if (rest[key] !== undefined) nativeOptions[key] = path.resolve(rest[key])
  }
  if (nativeOptions.passphrase === undefined && process.env.COSIGN_PASSWORD !== undefined) {
    nativeOptions.passphrase = process.env.COSIGN_PASSWORD
  }
  return run(signal, (token) => native.signOciImage(ref, nativeOptions, token))
}

/**
 * Checks `username`/`password` against the registry `host` and stores them
 * in the auth.json podman and skopeo read (mode 0600). Resolves to its path.
 */
async function registryLogin (host, username, password, options = {}) {
  const { signal, ...rest } = options ?? {}
  for (const [name, v] of [['host', host], ['username', username], ['password', password]]) {
    if (typeof v !== 'string' || v === '') throw dynpackError('E_INVALID_OPTION', `${name} must be a non-empty string`)
  }
  const nativeOptions = { ...rest }
  for (const key of ['authfile', 'certDir']) {
    if (rest[key] !== undefined) nativeOptions[key] = path.resolve(rest[key])
  }
  return run(signal, (token) => native.registryLogin(host, username, password, nativeOptions, token))
}

/** Removes `host` from the auth.json `registryLogin` writes. Resolves to `{ removed, file }`. */
async function registryLogout (host, options = {}) {
  if (typeof host !== 'string' || host === '') throw dynpackError('E_INVALID_OPTION', 'host must be a non-empty string')
  const authfile = options?.authfile === undefined ? undefined : path.resolve(options.authfile)
  return run(undefined, async () => native.registryLogout(host, authfile))
}

/** Publishes a dynamic plugin's tarball to a private npm registry (lib/publish.js; loaded on first use). */
function publishDynamic (dir, options) { return require('./publish.js').publishDynamic(dir, options, packDynamic) }

/**
 * The RHDH Extensions catalog entities (Package, Plugin, and the
 * dynamic-plugins.default.yaml entries) of plugins dynpack produced
 * (lib/catalog.js; loaded on first use).
 */
async function catalogEntities (plugins, options) { return require('./catalog').catalogEntities(plugins, options) }

/** Builds (and pushes) the catalog index image of a catalog folder (lib/catalog.js). */
async function buildCatalogIndex (dir, options) { return require('./catalog').buildCatalogIndex(dir, options, module.exports) }

/** Copies what a dynamic-plugins.yaml needs to a mirror and rewrites it (lib/mirror.js). */
async function mirrorDynamicPlugins (config, options) { return require('./mirror').mirrorDynamicPlugins(config, options, module.exports) }

module.exports = {
  packDynamic,
  computeIntegrity,
  verifyIntegrity,
  buildOciLayout,
  publishDynamic,
  inspectOciImage,
  sbomOf,
  cosignGenerateKeyPair,
  cosignSign,
  pushOciImage,
  signOciImage,
  registryLogin,
  registryLogout,
  catalogEntities,
  buildCatalogIndex,
  mirrorDynamicPlugins,
  // internal helpers shared by the CLI
  _checkOptions: checkOptions,
  _toDynpackError: toDynpackError,
  _dynpackError: dynpackError,
  _run: run,
  _native: native,
}
