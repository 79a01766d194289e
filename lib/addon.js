'use strict'
// Loads the native addon through the generated napi loader (../index.js) and,
// when no addon fits this machine, throws one error with code E_NO_ADDON that
// names the platform, the package npm should have installed for it and the
// fix, instead of the loader's generic "Cannot find native binding" chain.

const fs = require('node:fs')
const path = require('node:path')

/** The platform packages dynpack publishes: `napi.targets` as npm package suffixes. */
const PLATFORMS = {
  'linux-x64-gnu': 'x86_64-unknown-linux-gnu',
  'linux-arm64-gnu': 'aarch64-unknown-linux-gnu',
  'linux-x64-musl': 'x86_64-unknown-linux-musl',
  'linux-arm64-musl': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64-msvc': 'x86_64-pc-windows-msvc',
}

/** Whether this Linux runs on musl (Alpine), as the loader decides it. */
function isMusl () {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {}
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return Boolean(report && report.header && !report.header.glibcVersionRuntime)
}

/** The platform-package suffix for this process: `linux-x64-gnu`, `darwin-arm64`, ... */
function platformId (platform = process.platform, arch = process.arch, musl = isMusl) {
  if (platform === 'linux') return `linux-${arch}-${musl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** The addons inside this package (`dynpack.<platform>.node` beside index.js): a checkout's build, or a standalone tarball's. */
function bundledAddons (root = path.join(__dirname, '..')) {
  try {
    return fs.readdirSync(root).map((f) => /^dynpack\.(.+)\.node$/.exec(f)?.[1]).filter(Boolean).sort()
  } catch {
    return []
  }
}

/** The E_NO_ADDON error for `loadError`, naming what is missing and how to get it. */
function noAddonError (loadError, id = platformId(), bundled = bundledAddons()) {
  const pkg = `dynpack-${id}`
  const supported = Object.keys(PLATFORMS).join(', ')
  const where = `${process.platform} ${process.arch}, Node ${process.version}`
  const others = bundled.filter((b) => b !== id)
  const fix = others.length && !bundled.includes(id)
    ? `this dynpack holds the addon for ${others.join(', ')} only (a standalone tarball); install dynpack-<version>-${id}-standalone.tgz or dynpack from the registry instead`
    : PLATFORMS[id]
      ? `the package ${pkg} holds it: reinstall dynpack without --omit=optional (delete node_modules and the lockfile if npm skipped it; ` +
        `with Yarn, keep "current" in supportedArchitectures), or run \`npm run build\` in a source checkout (needs Rust)`
      : `dynpack ships prebuilt addons for ${supported}; on other platforms run \`npm run build\` in a source checkout (needs Rust and a C toolchain)`
  const e = new Error(`the dynpack native addon could not be loaded on ${where} (${id}): ${fix}`)
  e.code = 'E_NO_ADDON'
  e.platform = id
  e.cause = loadError
  return e
}

/**
 * The addon's exports; throws E_NO_ADDON when no addon for this machine loads.
 * The generated loader tries `dynpack.<platform>.node` inside this package
 * first (a checkout's build, or the addon of a standalone tarball), then the
 * platform package `dynpack-<platform>`.
 */
function loadAddon () {
  try {
    return require(path.join(__dirname, '..', 'index.js'))
  } catch (err) {
    throw noAddonError(err)
  }
}

module.exports = { loadAddon, noAddonError, bundledAddons, platformId, PLATFORMS }
