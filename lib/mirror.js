'use strict'
// mirrorDynamicPlugins: copies everything a dynamic-plugins.yaml needs to a
// mirror a disconnected cluster can reach, and rewrites the config to point
// there. OCI images go registry to registry in Rust (src/registry/mirror.rs,
// signatures and referrers included, pinned by digest); tgz URLs and npm
// packages are downloaded, checked against their `integrity` and written to
// a folder an httpd serves (or published to a private npm registry). The
// config is edited through the `yaml` Document API so that every comment,
// every other line and every pluginConfig stays as it was, and it is written
// only when every entry was mirrored.

const fs = require('node:fs')
const fsp = require('node:fs/promises')
const path = require('node:path')
const crypto = require('node:crypto')
const os = require('node:os')

function dynpackError (code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

const DATA_KEY = 'dynamic-plugins.yaml'

/**
 * Classifies a `package:` value of dynamic-plugins.yaml:
 * `{ kind: 'oci', repository, registry, path, tag, digest, dir }`,
 * `{ kind: 'url', url }`, `{ kind: 'npm', name, version }` or
 * `{ kind: 'kept', reason }` for what cannot be mirrored.
 */
function classify (spec) {
  if (typeof spec !== 'string' || spec === '') return { kind: 'kept', reason: 'no package' }
  if (spec.includes('{{inherit}}')) return { kind: 'kept', reason: 'inherits its version from an included file ({{inherit}})' }
  if (spec.startsWith('oci://')) {
    const rest = spec.slice('oci://'.length)
    const bang = rest.indexOf('!')
    const ref = bang < 0 ? rest : rest.slice(0, bang)
    const dir = bang < 0 ? null : rest.slice(bang + 1)
    const m = /^([^/]+)\/([^:@]+)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(ref)
    if (!m || (!m[3] && !m[4])) return { kind: 'kept', reason: `not an image reference dynpack can read (${ref})` }
    return { kind: 'oci', registry: m[1], path: m[2], tag: m[3] ?? null, digest: m[4] ?? null, dir, ref }
  }
  if (/^https?:\/\//.test(spec)) return { kind: 'url', url: spec }
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('file:')) {
    return { kind: 'kept', reason: 'a local path (a plugin inside the RHDH image or a mounted folder)' }
  }
  const m = /^((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*)@(\d+\.\d+\.\d+[\w.+-]*)$/i.exec(spec)
  if (m) return { kind: 'npm', name: m[1], version: m[2] }
  return { kind: 'kept', reason: 'neither an image, a URL nor name@version' }
}

/** Parses a dynamic-plugins.yaml or a ConfigMap holding one: `{ doc, inner, configMap }`. */
function parseConfig (text, file) {
  const YAML = require('yaml')
  const parse = (t) => {
    const doc = YAML.parseDocument(t, { prettyErrors: true, keepSourceTokens: false })
    if (doc.errors.length) throw dynpackError('E_INVALID_CONFIG', `${file}: not valid YAML (${doc.errors[0].message.split('\n')[0]}); fix the file`)
    return doc
  }
  const doc = parse(text)
  const data = doc.get('kind') === 'ConfigMap' ? doc.get('data', true) : null
  if (data) {
    const node = data.get(DATA_KEY, true)
    if (!node || typeof node.value !== 'string') {
      throw dynpackError('E_INVALID_CONFIG', `${file}: the ConfigMap has no data.${DATA_KEY}; pass the RHDH dynamic-plugins ConfigMap or the file itself`)
    }
    return { doc, inner: parse(node.value), configMap: node }
  }
  return { doc, inner: doc, configMap: null }
}

/** The `plugins:` items of a parsed config, as YAML map nodes. */
function pluginNodes (inner, file) {
  const YAML = require('yaml')
  const plugins = inner.get('plugins', true)
  if (plugins == null) return []
  if (!YAML.isSeq(plugins)) throw dynpackError('E_INVALID_CONFIG', `${file}: plugins: is not a list`)
  return plugins.items.filter((n) => YAML.isMap(n) && n.has('package'))
}

/** `sha512-…` (or sha256/sha384) of a file, in the algorithm `integrity` names. */
async function fileIntegrity (file, integrity) {
  const alg = /^(sha256|sha384|sha512)-/.exec(integrity ?? '')?.[1] ?? 'sha512'
  const hash = crypto.createHash(alg)
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk)
  return `${alg}-${hash.digest('base64')}`
}

function integrityMatches (actual, expected) {
  return String(expected).split(/\s+/).filter(Boolean).includes(actual)
}

/** Downloads `url` to `file`, streamed. */
async function download (url, file, signal) {
  let res
  try {
    res = await fetch(url, { signal, redirect: 'follow' })
  } catch (err) {
    if (err.name === 'AbortError') throw err
    throw dynpackError('E_DOWNLOAD', `${url}: ${err.cause?.message ?? err.message}; check the URL and the network`)
  }
  if (!res.ok) throw dynpackError('E_DOWNLOAD', `${url}: the server answered ${res.status}; check the URL`)
  const { Readable } = require('node:stream')
  const { pipeline } = require('node:stream/promises')
  await pipeline(Readable.fromWeb(res.body), fs.createWriteStream(file, { mode: 0o644 }), { signal })
}

function run (command, args, { cwd, signal }) {
  const { spawn } = require('node:child_process') // only for npm entries: not loaded otherwise
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, signal, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A file name that is safe in --tgz-dir. */
function safeName (name) {
  const base = path.basename(name).replace(/[^A-Za-z0-9._-]/g, '_')
  if (!base || base === '.' || base === '..') throw dynpackError('E_INVALID_CONFIG', `${name}: no usable file name in the URL`)
  return base
}

/** Moves `tmp` to `dir/name` (same file system: an atomic rename). */
async function place (tmp, dir, name) {
  const dest = path.join(dir, name)
  await fsp.rename(tmp, dest)
  return dest
}

function checkSide (v, what) {
  if (v === undefined) return {}
  if (v === null || typeof v !== 'object') throw dynpackError('E_INVALID_OPTION', `${what} must be an object`)
  const out = {}
  for (const key of Object.keys(v)) {
    if (!['authfile', 'creds', 'certDir', 'tlsVerify'].includes(key)) throw dynpackError('E_INVALID_OPTION', `unknown option ${what}.${key} (known: authfile, creds, certDir, tlsVerify)`)
    if (key === 'tlsVerify') {
      if (typeof v[key] !== 'boolean') throw dynpackError('E_INVALID_OPTION', `${what}.tlsVerify must be a boolean`)
      out[key] = v[key]
    } else if (v[key] !== undefined) {
      if (typeof v[key] !== 'string' || v[key] === '') throw dynpackError('E_INVALID_OPTION', `${what}.${key} must be a non-empty string`)
      out[key] = key === 'creds' ? v[key] : path.resolve(v[key])
    }
  }
  return out
}

const OPTIONS = new Set(['to', 'toDir', 'out', 'dryRun', 'tgzDir', 'baseUrl', 'npmRegistry', 'src', 'dest', 'signal', 'onProgress'])

/** The folder of a two-hop mirror: what it holds. */
const DIR_CONFIG = 'dynamic-plugins.yaml'
const DIR_MANIFEST = 'mirror.json'
const DIR_IMAGES = 'oci'
const DIR_FILES = 'tgz'

function escapeRegExp (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The tag a comment names for an entry pinned by digest (`# oci://repo:tag!dir`, as dynpack package writes it). */
function commentTag (text, e) {
  const m = new RegExp(`#[^\\n]*oci://${escapeRegExp(`${e.registry}/${e.path}`)}:([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`).exec(text)
  return m ? m[1] : null
}

/** The native job of an `oci` entry: `{ source, destination, tag }`. */
function imageJob (e, text, { mirror, toDir }) {
  const repo = `${e.registry}/${e.path}`
  const tag = e.digest ? (e.tag ?? commentTag(text, e)) : null
  return { source: e.digest ? `${repo}@${e.digest}` : `${repo}:${e.tag}`, destination: toDir ? repo : `${mirror}/${e.path}`, tag: tag ?? undefined }
}

async function writeAtomic (target, data) {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.dynpack-${process.pid}.tmp`)
  await fsp.writeFile(temp, data)
  await fsp.rename(temp, target)
}

/**
 * Mirrors what the dynamic-plugins.yaml (or RHDH ConfigMap) `config` needs
 * to `options.to` (`host[:port]/prefix`) and returns `{ config, images, tgz,
 * npm, kept, movedTags, written }`, `config` being the rewritten text
 * (written to `options.out` when given, only when every entry was mirrored).
 * Two hops: `options.toDir` writes everything into a folder instead (an OCI
 * image layout, the tgz files, the config and mirror.json); `config` = that
 * folder with `to` pushes it on the other side, with the same result.
 * Options: `tgzDir` + `baseUrl` (tgz and npm entries), `npmRegistry`
 * (publish npm entries there instead), `src`/`dest` (`{ authfile, creds,
 * certDir, tlsVerify }`), `dryRun`, `signal`, `onProgress(bytesSent)`.
 * `api` is lib/api.js, passed in by it (it requires this module, so this one
 * cannot require it back).
 */
async function mirrorDynamicPlugins (config, options, api) {
  options = options ?? {}
  if (typeof options !== 'object') throw dynpackError('E_INVALID_OPTION', 'options must be an object')
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw dynpackError('E_INVALID_OPTION', `unknown option ${key} (known: ${[...OPTIONS].join(', ')})`)
  }
  if (typeof config !== 'string' || config === '') throw dynpackError('E_INVALID_OPTION', 'config must be the path of a dynamic-plugins.yaml, a ConfigMap, or a mirror folder')
  const { to, toDir: toDirOption } = options
  if ((to == null) === (toDirOption == null)) throw dynpackError('E_INVALID_OPTION', 'give either to (HOST[:PORT]/PREFIX, the mirror registry) or toDir (a folder to carry across)')
  if (to != null && (typeof to !== 'string' || !/^[^/\s]+\/[a-z0-9][a-z0-9._/-]*$/.test(to))) {
    throw dynpackError('E_INVALID_OPTION', `to must be HOST[:PORT]/PREFIX (the mirror registry and a repository prefix), not ${JSON.stringify(to)}`)
  }
  const mirror = to?.replace(/\/+$/, '')
  const toDir = toDirOption != null ? path.resolve(toDirOption) : null
  const src = checkSide(options.src, 'src')
  const dest = checkSide(options.dest, 'dest')
  const signal = options.signal
  const input = path.resolve(config)
  const fromDir = fs.existsSync(input) && fs.statSync(input).isDirectory() ? input : null
  if (fromDir && toDir) throw dynpackError('E_INVALID_OPTION', 'a mirror folder goes to a registry (to), not to another folder')
  let manifest = null
  if (fromDir) {
    try {
      manifest = JSON.parse(await fsp.readFile(path.join(fromDir, DIR_MANIFEST), 'utf8'))
    } catch (err) {
      throw dynpackError('E_INVALID_CONFIG', `${fromDir}: not a mirror folder (${DIR_MANIFEST}: ${err.message}); write it with dynpack mirror CONFIG --to-dir DIR`)
    }
  }
  const file = fromDir ? path.join(fromDir, DIR_CONFIG) : input
  const text = await fsp.readFile(file, 'utf8').catch((err) => {
    throw dynpackError(err.code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO', `${file}: ${err.message}`)
  })
  const progress = options.onProgress ? new api._native.PushProgress() : undefined
  const nativeOptions = { src, dest, dryRun: !!options.dryRun }
  if (fromDir) nativeOptions.fromDir = path.join(fromDir, DIR_IMAGES)
  if (toDir) nativeOptions.toDir = path.join(toDir, DIR_IMAGES)
  const copyImages = (list, abort) => api._run(abort, (token) => api._native.mirrorImages(list, nativeOptions, token, progress))
  const { doc, inner, configMap } = parseConfig(text, file)
  const nodes = pluginNodes(inner, file)

  const entries = nodes.map((node) => ({ node, spec: node.get('package'), integrity: node.get('integrity'), ...classify(node.get('package')) }))
  const needFiles = !toDir && entries.some((e) => e.kind === 'url' || (e.kind === 'npm' && !options.npmRegistry))
  if (needFiles && (!options.tgzDir || !options.baseUrl)) {
    throw dynpackError('E_INVALID_OPTION', `${file} has tgz or npm entries: pass tgzDir (the folder an httpd serves) and baseUrl (its URL)${entries.some((e) => e.kind === 'npm') ? ', or npmRegistry for the npm entries' : ''}`)
  }
  for (const e of entries) {
    if ((e.kind === 'url' || e.kind === 'npm') && !e.integrity) {
      throw dynpackError('E_INVALID_CONFIG', `${file}: ${e.spec} has no integrity, so its bytes cannot be checked; add the integrity (dynpack integrity FILE) to the entry`)
    }
  }
  if (options.npmRegistry && !toDir) {
    const { _isPublicRegistry } = require('./publish.js')
    if (_isPublicRegistry(options.npmRegistry)) {
      throw dynpackError('E_PUBLIC_REGISTRY', `${options.npmRegistry} is the public npm registry; mirror npm packages to a private registry (npmRegistry) or into tgzDir`)
    }
  }

  // Images: each distinct source once, all in Rust, in parallel.
  const jobs = []
  const seen = new Map()
  for (const e of entries.filter((x) => x.kind === 'oci')) {
    if (!seen.has(e.ref)) {
      seen.set(e.ref, jobs.length)
      const job = imageJob(e, text, { mirror, toDir })
      if (fromDir) {
        const carried = manifest.images.find((i) => i.ref === e.ref)
        if (!carried) throw dynpackError('E_INVALID_CONFIG', `${fromDir}: ${DIR_MANIFEST} does not list ${e.spec}; write the folder again`)
        job.source = `${e.registry}/${e.path}@${carried.digest}`
        job.tag = undefined
      }
      jobs.push(job)
    }
    e.job = seen.get(e.ref)
  }
  const timer = progress ? setInterval(() => options.onProgress(progress.bytes), 200) : undefined
  let images = []
  try {
    if (jobs.length) images = await copyImages(jobs, signal)
  } finally {
    if (timer) { clearInterval(timer); options.onProgress(progress.bytes) }
  }
  const failed = images.find((r) => r.errorCode)
  if (failed) throw dynpackError(failed.errorCode, failed.errorMessage.replace(/^E_[A-Z_]+: /, ''))

  // tgz URLs and npm packages: fetched to a temp folder, checked, then placed.
  const filesDir = toDir ? path.join(toDir, DIR_FILES) : options.tgzDir ? path.resolve(options.tgzDir) : null
  if (!options.dryRun && filesDir) await fsp.mkdir(filesDir, { recursive: true })
  const tmp = options.dryRun ? null : await fsp.mkdtemp(path.join(filesDir ?? os.tmpdir(), '.dynpack-mirror-'))
  const tgz = []
  const npm = []
  const carriedFiles = []
  try {
    const fetched = await Promise.all(entries.map(async (e, i) => {
      if (options.dryRun || (e.kind !== 'url' && e.kind !== 'npm')) return null
      let localFile
      let name
      const carried = fromDir && manifest.files.find((f) => f.package === e.spec)
      if (fromDir) {
        if (!carried) throw dynpackError('E_INVALID_CONFIG', `${fromDir}: ${DIR_MANIFEST} does not list ${e.spec}; write the folder again`)
        name = carried.name
        localFile = path.join(tmp, `${i}-${name}`)
        await fsp.copyFile(path.join(fromDir, DIR_FILES, name), localFile)
      } else if (e.kind === 'url') {
        name = safeName(new URL(e.url).pathname)
        localFile = path.join(tmp, `${i}-${name}`)
        await download(e.url, localFile, signal)
      } else {
        const dir = path.join(tmp, String(i))
        await fsp.mkdir(dir)
        const r = await run('npm', ['pack', `${e.name}@${e.version}`, '--json', '--pack-destination', dir], { cwd: path.dirname(file), signal })
        if (r.code !== 0) throw dynpackError('E_DOWNLOAD', `npm pack ${e.name}@${e.version} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`)
        name = safeName(JSON.parse(r.stdout)[0].filename)
        localFile = path.join(dir, name)
      }
      const actual = await fileIntegrity(localFile, e.integrity)
      if (!integrityMatches(actual, e.integrity)) {
        throw dynpackError('E_INTEGRITY', `${e.spec}: the bytes downloaded have integrity ${actual}, not ${e.integrity} as ${file} says; nothing was written (check the source, or the entry's integrity)`)
      }
      return { localFile, name }
    }))
    if (!options.dryRun) {
      for (const [i, e] of entries.entries()) {
        const f = fetched[i]
        if (!f) continue
        if (toDir) {
          await place(f.localFile, filesDir, f.name)
          carriedFiles.push({ package: e.spec, name: f.name, integrity: e.integrity })
        } else if (e.kind === 'npm' && options.npmRegistry) {
          const r = await run('npm', ['publish', f.localFile, '--registry', options.npmRegistry, '--tag', 'mirror'], { cwd: path.dirname(file), signal })
          if (r.code !== 0 && !/cannot publish over|EPUBLISHCONFLICT|previously published/i.test(r.stderr)) {
            throw dynpackError('E_PUBLISH_FAILED', `npm publish ${e.name}@${e.version} to ${options.npmRegistry} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`)
          }
          npm.push({ package: e.spec, registry: options.npmRegistry, integrity: e.integrity })
        } else {
          await place(f.localFile, filesDir, f.name)
          const url = `${options.baseUrl.replace(/\/+$/, '')}/${f.name}`
          ;(e.kind === 'npm' ? npm : tgz).push({ package: e.spec, file: path.join(filesDir, f.name), url, integrity: e.integrity })
          e.rewrite = url
        }
      }
    }
  } finally {
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true })
  }

  const kept = entries.filter((e) => e.kind === 'kept').map((e) => ({ package: e.spec, reason: e.reason }))
  const report = {
    config: text,
    images: images.map(({ errorCode, errorMessage, ...r }) => r),
    tgz,
    npm,
    kept,
    movedTags: images.filter((r) => r.movedTag).map((r) => r.movedTag),
    written: null,
  }
  if (options.dryRun) return report

  if (toDir) {
    // The first hop: the config as it is, and what the folder holds.
    await fsp.writeFile(path.join(toDir, DIR_CONFIG), text)
    const listing = {
      config: DIR_CONFIG,
      images: entries.filter((e) => e.kind === 'oci' && images[e.job]).map((e) => ({ ref: e.ref, repository: `${e.registry}/${e.path}`, digest: images[e.job].digest }))
        .filter((x, i, all) => all.findIndex((y) => y.ref === x.ref) === i),
      files: carriedFiles,
      kept,
    }
    await writeAtomic(path.join(toDir, DIR_MANIFEST), JSON.stringify(listing, null, 2) + '\n')
    report.written = toDir
    return report
  }

  // The rewrite: only `package:` values change.
  for (const e of entries) {
    if (e.kind === 'oci') {
      const r = images[e.job]
      e.rewrite = `oci://${r.reference}${e.dir != null ? `!${e.dir}` : ''}`
    }
    if (e.rewrite) e.node.get('package', true).value = e.rewrite
  }
  let out = inner.toString({ lineWidth: 0 })
  if (configMap) {
    configMap.value = out
    out = doc.toString({ lineWidth: 0 })
  }
  report.config = out
  if (options.out) {
    const target = path.resolve(options.out)
    await writeAtomic(target, out)
    report.written = target
  }
  return report
}

module.exports = { mirrorDynamicPlugins, _classify: classify }
