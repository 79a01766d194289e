'use strict'
// The public API: a thin layer over the generated napi loader (../index.js).
// It turns native errors into errors with a stable `code`, makes every call
// reject instead of throwing, wires AbortSignals to the Rust side, and checks
// once per process that the addon's gzip equals Node's own zlib.gzipSync.

const path = require('node:path')
const zlib = require('node:zlib')
const native = require('../index.js')

const NAPI_ARGUMENT_CODES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected',
  'NumberExpected', 'BooleanExpected', 'ArrayExpected', 'BigintExpected',
])

/** Rewrites `E_CODE: message` from Rust into `error.code` + `error.message`. */
function toDynpackError (err) {
  if (!(err instanceof Error)) return err
  const m = /^(E_[A-Z0-9_]+): ([\s\S]*)$/.exec(err.message)
  if (m) {
    const e = new Error(m[2])
    e.code = m[1]
    return e
  }
  if (NAPI_ARGUMENT_CODES.has(err.code)) {
    const e = new Error(`invalid argument: ${err.message}`)
    e.code = 'E_INVALID_OPTION'
    return e
  }
  return err
}

function dynpackError (code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

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

function resolveDir (dir, what) {
  if (typeof dir !== 'string' || dir === '') {
    throw dynpackError('E_INVALID_OPTION', `${what} must be a non-empty string`)
  }
  return path.resolve(dir)
}

/**
 * Packs a package folder (a dist-dynamic folder) exactly as
 * `npm pack --ignore-scripts` does. Resolves to npm's --json object plus `path`.
 */
async function packDynamic (dir, options = {}) {
  options = options ?? {}
  if (typeof options !== 'object') throw dynpackError('E_INVALID_OPTION', 'options must be an object')
  const { signal, ...rest } = options
  const abs = resolveDir(dir, 'dir')
  const nativeOptions = { ...rest }
  if (rest.destination !== undefined) nativeOptions.destination = resolveDir(rest.destination, 'destination')
  if ((rest.compression ?? 'npm') === 'npm') {
    try { checkHostZlib() } catch (e) { throw e }
  }
  const result = await run(signal, (token) => native.packDynamic(abs, nativeOptions, token))
  if (result.path == null) delete result.path
  return result
}

/** The SRI string (default `sha512-…`) of a file path or a Buffer. */
async function computeIntegrity (input, options = {}) {
  const { signal, ...rest } = options ?? {}
  const arg = typeof input === 'string' ? path.resolve(input) : input
  return run(signal, () => native.computeIntegrity(arg, rest))
}

/** Resolves true when the data matches the SRI string, false when not. */
async function verifyIntegrity (input, sri) {
  const arg = typeof input === 'string' ? path.resolve(input) : input
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
  const dirs = list.map((p, i) => resolveDir(p, Array.isArray(plugins) ? `plugins[${i}]` : 'plugins'))
  const { signal, ...rest } = options
  if (typeof rest.tag !== 'string' || rest.tag === '') {
    throw dynpackError('E_INVALID_TAG', 'options.tag must name the image, e.g. quay.io/<org>/<image>:<version>')
  }
  const nativeOptions = { ...rest, output: resolveDir(rest.output, 'options.output') }
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
  return run(signal, (token) => native.buildOciLayout(dirs.length === 1 ? dirs[0] : dirs, nativeOptions, token))
}

const PUSH_OPTIONS = new Set(['refName', 'tag', 'authfile', 'creds', 'certDir', 'tlsVerify', 'mountFrom', 'signal', 'onProgress'])

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
  for (const key of ['refName', 'tag', 'authfile', 'creds', 'certDir']) {
    if (rest[key] !== undefined && (typeof rest[key] !== 'string' || rest[key] === '')) {
      throw dynpackError('E_INVALID_OPTION', `options.${key} must be a non-empty string`)
    }
  }
  if (rest.tlsVerify !== undefined && typeof rest.tlsVerify !== 'boolean') {
    throw dynpackError('E_INVALID_OPTION', 'options.tlsVerify must be a boolean')
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw dynpackError('E_INVALID_OPTION', 'options.onProgress must be a function')
  }
  const abs = resolveDir(source, 'source')
  const nativeOptions = { ...rest }
  for (const key of ['authfile', 'certDir']) {
    if (rest[key] !== undefined) nativeOptions[key] = path.resolve(rest[key])
  }
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
function publishDynamic (dir, options) { return require('./publish').publishDynamic(dir, options) }

module.exports = {
  packDynamic,
  computeIntegrity,
  verifyIntegrity,
  buildOciLayout,
  publishDynamic,
  pushOciImage,
  registryLogin,
  registryLogout,
  // internal helpers shared by the CLI
  _toDynpackError: toDynpackError,
  _dynpackError: dynpackError,
  _run: run,
  _native: native,
}
