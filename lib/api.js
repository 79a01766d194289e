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
  const sample = Buffer.alloc(256 * 1024)
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

module.exports = {
  packDynamic,
  computeIntegrity,
  verifyIntegrity,
  // internal helpers shared by the CLI
  _toDynpackError: toDynpackError,
  _dynpackError: dynpackError,
  _run: run,
  _native: native,
}
