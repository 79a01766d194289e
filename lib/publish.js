'use strict'
// publishDynamic: the third way to ship a dynamic plugin, a package in a
// private npm registry. The tarball is packDynamic's (npm pack's bytes, so
// the integrity RHDH checks); the upload is `npm publish <file.tgz>`, so that
// authentication (.npmrc tokens per registry, environment) is npm's own.
// Where the package goes is decided here, before npm runs, and passed to npm
// explicitly: that is where the public-registry guard looks.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { isDeepStrictEqual } = require('node:util')
const { spawn } = require('node:child_process')
const { readInput } = require('./read-input.js')
const { dynpackError, checkOptions } = require('./errors.js')
const { singleFolder } = require('./folders.js')

/** Hosts of the public npm registry (and its mirror under yarn's name). */
const PUBLIC_REGISTRY_HOSTS = new Set(['registry.npmjs.org', 'registry.npmjs.com', 'registry.yarnpkg.com'])
/** Domains run by npm and yarn for the public registry: every host under them is public. */
const PUBLIC_REGISTRY_DOMAINS = ['npmjs.org', 'npmjs.com', 'yarnpkg.com']

/**
 * npm applies publishConfig from the tarball's package.json, and only from
 * npm 10.6 on do command-line flags (the --registry dynpack passes) win over
 * it; an older npm could publish where publishConfig says, past the guard.
 */
const MIN_NPM = [10, 6, 0]

const REGISTRY_SOURCES = {
  option: 'the registry option',
  publishConfigScope: "publishConfig's scope registry",
  publishConfig: 'publishConfig.registry',
  npmConfig: "npm's configuration",
}

/**
 * Publishes one dynamic plugin; resolves to what was published (see
 * lib/api.d.ts `PublishResult`) and rejects with a coded error otherwise.
 * `dir` is a dist-dynamic folder or a plugin folder that contains one.
 * `packDynamic` is lib/api.js's, passed in so that this module needs nothing
 * from lib/api.js (no require cycle).
 */
async function publishDynamic (dir, options = {}, packDynamic) {
  options = checkOptions(options, { registry: 'string', tag: 'string', dryRun: 'boolean', allowPublicRegistry: 'boolean', env: 'object', npm: 'string', timeout: 'number', onWait: 'function', onProgress: 'function', allowStale: 'boolean' }, 'publishDynamic')
  const { signal, dryRun = false, allowPublicRegistry = false } = options
  if (typeof dir !== 'string' || dir === '') throw dynpackError('E_INVALID_OPTION', 'dir must be a non-empty string')
  if (options.tag !== undefined && (typeof options.tag !== 'string' || !/^[^\s/@%][^\s/%]*$/.test(options.tag))) {
    throw dynpackError('E_INVALID_OPTION', `tag ${JSON.stringify(options.tag)}: a dist-tag is one word such as latest, next or rc`)
  }
  const env = options.env ?? process.env
  const npm = options.npm ?? 'npm'

  const { distDir, sourceDir } = locate(path.resolve(dir), options.allowStale)
  const manifestPath = path.join(distDir, 'package.json')
  const pkg = readManifest(manifestPath)
  const id = `${pkg.name}@${pkg.version}`
  if (pkg.private === true) {
    throw dynpackError('E_PUBLISH_FAILED',
      `${manifestPath}: ${id} is marked "private": true, so npm will not publish it; ` +
      'remove "private" from the plugin\'s package.json and run the export again')
  }
  const warnings = []
  if (sourceDir) {
    const warning = publishConfigMismatch(sourceDir, manifestPath, pkg)
    if (warning) warnings.push(warning)
  }

  const scope = pkg.name.startsWith('@') ? pkg.name.slice(0, pkg.name.indexOf('/')) : null
  const publishConfig = isObject(pkg.publishConfig) ? pkg.publishConfig : {}
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-publish-'))
  try {
    // Packing (off the event loop) and asking npm for its settings overlap.
    // Both are waited for, so that nothing still writes into tmp when it is removed.
    const [packing, resolving] = await Promise.allSettled([
      packDynamic(distDir, { destination: tmp, signal, onProgress: options.onProgress }),
      resolveSettings({ options, publishConfig, manifestPath, scope, distDir, npm, env, signal }),
    ])
    if (packing.status === 'rejected') throw packing.reason
    if (resolving.status === 'rejected') throw resolving.reason
    const packed = packing.value
    const settings = resolving.value
    const { registry, registrySource, tag } = settings
    const shownRegistry = hideCredentials(registry)
    for (const [key, value] of Object.entries(publishConfig)) {
      if ((key === 'registry' || key === `${scope}:registry`) && !registrySource.startsWith('publishConfig') &&
          normalizeRegistry(value, () => null) !== registry) {
        warnings.push(`publishConfig["${key}"] (${describeUrl(value)}) is overridden by ${REGISTRY_SOURCES[registrySource]}: publishing to ${shownRegistry}`)
      }
    }

    if (isPublicRegistry(registry) && !allowPublicRegistry) {
      throw dynpackError('E_PUBLIC_REGISTRY',
        `${id}: refusing to publish to the public npm registry ${shownRegistry} (from ${REGISTRY_SOURCES[registrySource]}). ` +
        "A dynamic plugin's dist-dynamic package is a run-time artifact for RHDH, not a library for other projects: " +
        'it belongs in a private registry or an OCI image. Pass --registry <private registry URL> ' +
        "(or set publishConfig.registry in the plugin's package.json and export again), " +
        'or --allow-public-registry if publishing it publicly is intended')
    }

    const args = ['publish', packed.path, '--json', '--ignore-scripts', `--registry=${registry}`]
    // A scoped registry in .npmrc would otherwise win over --registry.
    if (scope) args.push(`--${scope}:registry=${registry}`)
    if (options.tag !== undefined) args.push(`--tag=${options.tag}`)
    args.push(dryRun ? '--dry-run' : '--no-dry-run')
    const run = await runNpmWithTimeout(npm, args, { cwd: distDir, env, signal, options, id, registry: shownRegistry })
    if (run.code !== 0) throw publishError(run, { id, registry: shownRegistry, env })
    const reported = parsePublishOutput(run.stdout, pkg.name)
    if (reported && reported.integrity && reported.integrity !== packed.integrity) {
      throw dynpackError('E_PUBLISH_FAILED',
        `${id}: npm reported integrity ${reported.integrity} for the tarball dynpack packed as ${packed.integrity}; ` +
        'do not reference this version from dynamic-plugins.yaml, and report this as a dynpack bug')
    }

    return {
      dir: distDir,
      source: sourceDir,
      name: pkg.name,
      version: pkg.version,
      package: id,
      integrity: packed.integrity,
      shasum: packed.shasum,
      filename: packed.filename,
      size: packed.size,
      registry: shownRegistry,
      registrySource,
      tag,
      dryRun: Boolean(dryRun),
      published: !dryRun,
      npmrc: rhdhNpmrc([{ name: pkg.name, registry: shownRegistry }]),
      warnings,
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/** The dist-dynamic folder of `abs`, and the plugin source folder beside it when there is one. */
function locate (abs, allowStale = false) {
  let stat
  try {
    stat = fs.statSync(abs)
  } catch (err) {
    if (err.code === 'ENOENT') {
      throw dynpackError('E_NOT_FOUND', `${abs}: no such folder; pass the dist-dynamic folder of a plugin (or a plugin folder that contains dist-dynamic/)`)
    }
    throw dynpackError('E_IO', `${abs}: ${err.message}`)
  }
  if (!stat.isDirectory()) throw dynpackError('E_NOT_A_DIRECTORY', `${abs}: not a folder; pass the folder that holds package.json`)
  // the rule every command shares (lib/folders.js resolveFolder); a monorepo root is refused
  const { folders: [folder] } = singleFolder(abs, 'publishDynamic', { allowStale })
  return { distDir: folder.dir, sourceDir: folder.source }
}

function readManifest (file) {
  const text = readInput(file, { bad: (why) => dynpackError('E_INVALID_MANIFEST', `${file}: ${why}; fix package.json and run again`) })
  if (text === null) {
    throw dynpackError('E_NO_PACKAGE_JSON', `${path.dirname(file)}: no package.json; run the dynamic-plugin export first (e.g. \`npx @red-hat-developer-hub/cli plugin export\`)`)
  }
  let pkg
  try {
    pkg = JSON.parse(text)
  } catch (err) {
    throw dynpackError('E_INVALID_MANIFEST', `${file}: not valid JSON (${err.message}); fix package.json and run again`)
  }
  if (!isObject(pkg)) throw dynpackError('E_INVALID_MANIFEST', `${file}: not a JSON object; fix package.json and run again`)
  for (const key of ['name', 'version']) {
    if (typeof pkg[key] !== 'string' || pkg[key] === '') {
      throw dynpackError('E_INVALID_MANIFEST', `${file}: no "${key}"; a published package needs one. Fix package.json and run again`)
    }
  }
  return pkg
}

/**
 * The export copies the source package.json's publishConfig verbatim into
 * dist-dynamic; when they differ, the export was not re-run after a change.
 */
function publishConfigMismatch (sourceDir, distManifest, distPkg) {
  const sourceManifest = path.join(sourceDir, 'package.json')
  let source
  try {
    source = JSON.parse(readInput(sourceManifest, { bad: (why) => new Error(why) }))
  } catch {
    return null // not ours to judge: packing reads only dist-dynamic
  }
  if (!isObject(source)) return null
  const a = source.publishConfig
  const b = distPkg.publishConfig
  if (isDeepStrictEqual(a, b)) return null
  return `${sourceManifest} and ${distManifest} disagree on publishConfig ` +
    `(plugin: ${JSON.stringify(a) ?? 'none'}, dist-dynamic: ${JSON.stringify(b) ?? 'none'}); ` +
    'the export was not re-run after the change, so dist-dynamic is what gets published: run the export again to publish the current settings'
}

/**
 * Registry: option > publishConfig.registry > npm's configuration (the
 * scope's registry first, as npm picks it). Tag: option > publishConfig.tag >
 * npm's configuration. npm is asked only for what is still open.
 */
async function resolveSettings ({ options, publishConfig, manifestPath, scope, distDir, npm, env, signal }) {
  const version = checkNpmVersion(npm, distDir, env, signal)
  version.catch(() => {}) // awaited below; not an unhandled rejection meanwhile
  let registry
  let registrySource
  const scopeKey = scope && `${scope}:registry`
  if (options.registry !== undefined) {
    registry = normalizeRegistry(options.registry, () =>
      dynpackError('E_INVALID_OPTION', `registry ${describeUrl(options.registry)}: expected an http(s) URL such as https://npm.example.com/`))
    registrySource = 'option'
  } else if (scopeKey && publishConfig[scopeKey] !== undefined) {
    registry = normalizeRegistry(publishConfig[scopeKey], () =>
      dynpackError('E_INVALID_MANIFEST', `${manifestPath}: publishConfig["${scopeKey}"] ${describeUrl(publishConfig[scopeKey])} is not an http(s) URL; fix the plugin's package.json and export again`))
    registrySource = 'publishConfigScope'
  } else if (publishConfig.registry !== undefined) {
    registry = normalizeRegistry(publishConfig.registry, () =>
      dynpackError('E_INVALID_MANIFEST', `${manifestPath}: publishConfig.registry ${describeUrl(publishConfig.registry)} is not an http(s) URL; fix the plugin's package.json and export again`))
    registrySource = 'publishConfig'
  }
  let tag = options.tag ?? (typeof publishConfig.tag === 'string' ? publishConfig.tag : undefined)
  if (registry !== undefined) refuseCredentials(registry, registrySource)
  if (registry !== undefined && tag !== undefined) {
    await version
    return { registry, registrySource, tag }
  }

  const keys = ['registry', 'tag']
  if (scope) keys.push(`${scope}:registry`)
  const run = await runNpm(npm, ['config', 'get', ...keys], { cwd: distDir, env, signal })
  if (run.code !== 0) {
    if (/option is protected/.test(run.stderr)) {
      // npm will not print a configured registry URL that carries credentials
      throw dynpackError('E_CREDENTIALS_IN_URL',
        `npm's configured registry (in ${distDir}) carries credentials, which dynpack does not pass to npm on its command line; ` +
        'configure the URL without them and put them in an .npmrc (`//host/path/:_authToken=${NPM_TOKEN}`, or _auth / username and _password), or pass --registry')
    }
    throw dynpackError('E_PUBLISH_FAILED', `\`npm config get\` failed in ${distDir}: ${summarize(redact(run.stderr, env))}`)
  }
  const config = {}
  for (const line of run.stdout.split(/\r?\n/)) {
    const at = line.indexOf('=')
    if (at > 0 && line.slice(at + 1) !== 'undefined') config[line.slice(0, at)] = line.slice(at + 1)
  }
  if (registry === undefined) {
    const configured = (scope && config[`${scope}:registry`]) || config.registry
    registry = normalizeRegistry(configured, () =>
      dynpackError('E_PUBLISH_FAILED', `npm's configured registry ${describeUrl(configured ?? '')} (in ${distDir}) is not an http(s) URL; pass --registry`))
    registrySource = 'npmConfig'
    refuseCredentials(registry, registrySource)
  }
  tag = tag ?? config.tag ?? 'latest'
  await version
  return { registry, registrySource, tag }
}

/**
 * A registry URL with a user name or password would reach npm's argv, where
 * every user of the machine can read it: refused, with where to put them.
 */
function refuseCredentials (registry, source) {
  const url = new URL(registry)
  if (!url.username && !url.password) return
  url.username = url.password = ''
  const bare = url.href
  throw dynpackError('E_CREDENTIALS_IN_URL',
    `the registry URL from ${REGISTRY_SOURCES[source]} (${hideCredentials(registry)}) carries credentials, which dynpack does not pass to npm on its command line; ` +
    `give the URL without them and put them in an .npmrc (\`${nerfDart(registry)}:_authToken=\${NPM_TOKEN}\`, or _auth / username and _password), or log in with \`npm login --registry ${bare}\``)
}

/** Resolves when `npm --version` is at least MIN_NPM; rejects with E_NPM_TOO_OLD otherwise. */
async function checkNpmVersion (npm, cwd, env, signal) {
  const run = await runNpm(npm, ['--version'], { cwd, env, signal })
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(run.stdout.trim())
  if (run.code !== 0 || !m) {
    throw dynpackError('E_PUBLISH_FAILED', `\`${npm} --version\` failed in ${cwd}: ${summarize(redact(run.stderr || run.stdout, env))}`)
  }
  const found = m.slice(1).map(Number)
  for (let i = 0; i < 3; i++) {
    if (found[i] > MIN_NPM[i]) return found.join('.')
    if (found[i] < MIN_NPM[i]) {
      throw dynpackError('E_NPM_TOO_OLD',
        `npm ${found.join('.')} is too old to publish safely: before npm ${MIN_NPM.join('.')}, publishConfig in the package.json wins over the --registry dynpack passes, ` +
        'so the package could go elsewhere than checked; install a newer npm (`npm install -g npm@latest`, or Node.js 20.17+/22) or pass the npm option')
    }
  }
  return found.join('.')
}

/** The registry URL npm is given: http(s), no query or fragment, ending with `/`; otherwise `error()` is thrown (or returned when it is not an Error). */
function normalizeRegistry (value, error) {
  const bad = () => { const e = error(); if (e instanceof Error) throw e; return e }
  if (typeof value !== 'string') return bad()
  let url
  try {
    url = new URL(value.trim())
  } catch {
    return bad()
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad()
  url.search = ''
  url.hash = ''
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url.href
}

/**
 * True for the public registry under any spelling of its host: case, a
 * trailing dot (the fully qualified name), an explicit port, percent-encoding
 * or Unicode dots (the URL parser normalises those), or another host under
 * npm's and yarn's domains.
 */
function isPublicRegistry (registry) {
  const host = new URL(registry).hostname.toLowerCase().replace(/\.+$/, '')
  return PUBLIC_REGISTRY_HOSTS.has(host) || PUBLIC_REGISTRY_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`))
}

/** The URL without user:password, for anything shown to a person or a log. */
function hideCredentials (registry) {
  try {
    const url = new URL(registry)
    if (!url.username && !url.password) return registry
    url.username = '***'
    url.password = ''
    return url.href
  } catch {
    return describeUrl(registry)
  }
}

/**
 * A registry value for an error message, also when it is not a URL at all:
 * anything before an `@` (user:password), token-like words and query values
 * are hidden, and it is cut short.
 */
function describeUrl (value) {
  if (typeof value !== 'string') return JSON.stringify(value) ?? String(value)
  let text = value
  try {
    const url = new URL(value)
    if (url.username || url.password) { url.username = '***'; url.password = '' }
    url.search = url.search ? '?***' : ''
    text = url.href
  } catch {
    // not a URL: show only a scheme://host-like start, never the rest (it may be a pasted token)
    const start = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?[^/@\s:?#]*/i.exec(value)
    if (!start) return `(a ${value.length}-character value, not shown)`
    text = start[0].replace(/\/\/[^@/]*@/, '//***@') + (value.length > start[0].length ? '…' : '')
  }
  if (text.length > 120) text = text.slice(0, 120) + '…'
  return JSON.stringify(text)
}

/** npm's "nerf dart": the registry key credentials are filed under in an .npmrc. */
function nerfDart (registry) {
  const url = new URL(registry)
  return `//${url.host}${url.pathname}`
}

/**
 * The .npmrc RHDH's plugin installer needs to fetch `packages`
 * (`[{ name, registry }]`): a scoped package gets only its scope routed to
 * its registry, so public plugins still come from npmjs; an unscoped one
 * reroutes every download of the installer.
 */
function rhdhNpmrc (packages) {
  const routes = new Map()
  for (const { name, registry } of packages) {
    const key = name.startsWith('@') ? `${name.slice(0, name.indexOf('/'))}:registry` : 'registry'
    if (!routes.has(key)) routes.set(key, new Set())
    routes.get(key).add(registry)
  }
  const lines = []
  for (const [key, registries] of routes) {
    if (key === 'registry') lines.push('# unscoped packages: every npm download of the installer goes to this registry')
    if (registries.size > 1) lines.push(`# ${key} is set more than once and npm keeps the last one: publish these plugins to one registry`)
    for (const r of registries) lines.push(`${key}=${r}`)
  }
  const darts = new Set(packages.map((p) => nerfDart(p.registry)))
  lines.push(`# only if the ${darts.size > 1 ? 'registries need' : 'registry needs'} a token to read:`)
  for (const d of darts) lines.push(`${d}:_authToken=<auth-token>`)
  return lines.join('\n') + '\n'
}

/** Runs npm with the caller's environment (so its .npmrc and tokens apply); never throws for npm's exit status. */
function runNpm (npm, args, { cwd, env, signal }) {
  return new Promise((resolve, reject) => {
    const win = process.platform === 'win32'
    const command = win && npm === 'npm' ? 'npm.cmd' : npm
    const child = spawn(command, win ? args.map(quoteForCmd) : args, {
      cwd,
      env: { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: win,
      windowsHide: true,
      signal,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    child.once('error', (err) => {
      if (err.name === 'AbortError') {
        const e = dynpackError('E_ABORTED', 'the operation was aborted')
        e.name = 'AbortError'
        reject(e)
      } else if (err.code === 'ENOENT') {
        reject(dynpackError('E_PUBLISH_FAILED', `${command}: not found on PATH; dynpack publishes through the npm CLI, so install Node.js's npm (or pass the npm option)`))
      } else {
        reject(dynpackError('E_PUBLISH_FAILED', `${command}: ${err.message}`))
      }
    })
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** How long `npm publish` may wait for the registry by default, and when publishDynamic says it is waiting. */
const PUBLISH_TIMEOUT_MS = 120_000
const WAIT_NOTICE_MS = 5_000

/**
 * `npm publish` bounded in time: `options.onWait({ package, registry, waitingFor,
 * timeout })` is called once when npm has not finished after a few seconds
 * (a registry that does not answer), and npm is stopped after
 * `options.timeout` ms with E_PUBLISH_TIMEOUT.
 */
async function runNpmWithTimeout (npm, args, { cwd, env, signal, options, id, registry }) {
  const timeout = options.timeout ?? PUBLISH_TIMEOUT_MS
  if (!Number.isSafeInteger(timeout) || timeout <= 0) {
    throw dynpackError('E_INVALID_OPTION', 'timeout must be a positive whole number of milliseconds')
  }
  if (options.onWait !== undefined && typeof options.onWait !== 'function') {
    throw dynpackError('E_INVALID_OPTION', 'onWait must be a function')
  }
  const timer = new AbortController()
  const stop = setTimeout(() => timer.abort(), timeout)
  const notice = setTimeout(() => options.onWait?.({
    package: id, registry, waitingFor: `${registry} to answer \`npm publish\``, timeout,
  }), Math.min(WAIT_NOTICE_MS, timeout / 2))
  const both = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal
  try {
    return await runNpm(npm, args, { cwd, env, signal: both })
  } catch (err) {
    if (timer.signal.aborted && !signal?.aborted) {
      throw dynpackError('E_PUBLISH_TIMEOUT',
        `${id}: ${registry} did not answer \`npm publish\` within ${timeout / 1000} s; check that the registry is up and reachable ` +
        "from here (proxy, VPN, npm's https-proxy), or allow more time (--timeout)")
    }
    throw err
  } finally {
    clearTimeout(stop)
    clearTimeout(notice)
  }
}

function quoteForCmd (arg) {
  return /^[A-Za-z0-9_@%+=:,./\\-]+$/.test(arg) ? arg : `"${arg.replace(/"/g, '""')}"`
}

/** npm 11 keys `--json` output by package name; older npm printed the object itself. */
function parsePublishOutput (stdout, name) {
  try {
    const out = JSON.parse(stdout)
    return out && typeof out === 'object' ? (out[name] ?? out) : null
  } catch {
    return null
  }
}

/** Maps a failed `npm publish` to a dynpack error whose message says what to do. */
function publishError (run, { id, registry, env }) {
  let code = ''
  let summary = ''
  try {
    const { error } = JSON.parse(run.stdout)
    code = error.code ?? ''
    summary = [error.summary, error.detail].filter(Boolean).join(' ')
  } catch {
    const m = /npm (?:ERR!|error) code (\S+)/.exec(run.stderr)
    if (m) code = m[1]
    summary = run.stderr.split('\n')
      .filter((l) => /^npm (?:ERR!|error) /.test(l) && !/ code \S+$|complete log of this run/.test(l))
      .map((l) => l.replace(/^npm (?:ERR!|error) /, '')).join(' ')
  }
  const text = summarize(redact(summary || run.stderr || `npm exited with status ${run.code}`, env))
  const said = code ? `${code}: ${text}` : text
  if (code === 'EPUBLISHCONFLICT' || code === 'E409' ||
      /cannot publish over|already present|already exists|EPUBLISHCONFLICT/i.test(summary)) {
    return dynpackError('E_PUBLISH_CONFLICT',
      `${id} is already in ${registry} and a published version cannot be replaced (npm: ${said}); ` +
      "bump the version in the plugin's package.json and export again")
  }
  if (code === 'E401' || code === 'ENEEDAUTH' || code === 'E403') {
    const what = code === 'E403' ? 'refused to let these credentials publish it' : 'did not accept the credentials'
    return dynpackError('E_PUBLISH_AUTH',
      `${id}: ${registry} ${what} (npm: ${said}); log in with \`npm login --registry ${registry}\`, ` +
      `or put \`${nerfDart(registry)}:_authToken=\${NPM_TOKEN}\` in an .npmrc and set NPM_TOKEN`)
  }
  return dynpackError('E_PUBLISH_FAILED', `${id}: npm publish to ${registry} failed (npm: ${said})`)
}

/** Hides anything that looks like a credential in text npm printed. */
function redact (text, env = {}) {
  let out = String(text)
    .replace(/((?:_authToken|_auth|_password|password|token)\s*[=:]\s*)("[^"]*"|\S+)/gi, '$1***')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***')
    .replace(/(\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1***@')
    .replace(/\bnpm_[A-Za-z0-9]{36}\b/g, 'npm_***')
  for (const [key, value] of Object.entries(env)) {
    if (typeof value === 'string' && value.length >= 8 && /token|auth|pass|secret/i.test(key)) {
      out = out.split(value).join('***')
    }
  }
  return out
}

/** One line, short enough to read in an error message. */
function summarize (text) {
  const line = String(text).replace(/\s+/g, ' ').trim()
  return line.length > 600 ? line.slice(0, 600) + '…' : line
}

function isObject (v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

module.exports = {
  publishDynamic,
  // exported for the CLI and unit tests
  _redact: redact,
  _nerfDart: nerfDart,
  _isPublicRegistry: isPublicRegistry,
  _describeUrl: describeUrl,
  _rhdhNpmrc: rhdhNpmrc,
  _locate: (dir) => locate(path.resolve(dir), true),
}
