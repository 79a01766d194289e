// Helpers for the OCI tests: system tools (skip or fail), a throwaway
// docker-registry on 127.0.0.1, a tar reader, and RHDH's installer extraction.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { tempDir } from './tree.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))

/** Absolute path of an executable on PATH, or null. */
export function which (name) {
  if (path.isAbsolute(name)) return isExecutable(name) ? name : null
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name)
    if (isExecutable(p)) return p
  }
  return null
}

function isExecutable (p) {
  try {
    fs.accessSync(p, fs.constants.X_OK)
    return fs.statSync(p).isFile()
  } catch {
    return false
  }
}

export const REGISTRY_BIN = which('docker-registry') ?? which('/usr/bin/docker-registry')

/**
 * True when every tool is installed. Otherwise the test is skipped with the
 * reason on a developer machine, and fails under CI=true.
 */
export function needTools (t, ...names) {
  const missing = names.filter((n) => (n === 'docker-registry' ? !REGISTRY_BIN : !which(n)))
  if (missing.length === 0) return true
  const reason = `needs ${missing.join(', ')} (not installed; .ci/run installs them)`
  if (process.env.CI === 'true') throw new Error(`CI: ${reason}`)
  t.skip(reason)
  return false
}

/** Runs a command; returns stdout, throws with stderr on failure. */
export function run (cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20, ...opts })
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${e.status}):\n${e.stderr}${e.stdout}`)
  }
}

function octal (buf, off, len) {
  if (buf[off] & 0x80) {
    let n = 0
    for (let i = off + 1; i < off + len; i++) n = n * 256 + buf[i]
    return n
  }
  const s = buf.toString('latin1', off, off + len).replace(/[\0 ].*$/s, '')
  return s === '' ? 0 : parseInt(s, 8)
}

function cstring (buf, off, len) {
  const end = buf.indexOf(0, off)
  return buf.toString('utf8', off, end === -1 || end > off + len ? off + len : end)
}

/** Entries of an uncompressed tar: { path, type, mode, uid, gid, mtime, size, linkpath, data }. */
export function readTar (buf) {
  const out = []
  let pax = {}
  let longName = null
  let off = 0
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512)
    if (h.every((b) => b === 0)) break
    const type = String.fromCharCode(h[156] || 48)
    let size = octal(h, 124, 12)
    if (pax.size !== undefined) size = Number(pax.size)
    const data = buf.subarray(off + 512, off + 512 + size)
    off += 512 + Math.ceil(size / 512) * 512
    if (type === 'x') {
      let i = 0
      while (i < data.length) {
        const sp = data.indexOf(0x20, i)
        const len = parseInt(data.toString('latin1', i, sp), 10)
        const kv = data.toString('utf8', sp + 1, i + len - 1)
        const eq = kv.indexOf('=')
        pax[kv.slice(0, eq)] = kv.slice(eq + 1)
        i += len
      }
      continue
    }
    if (type === 'g') continue
    if (type === 'L') { longName = cstring(data, 0, data.length); continue }
    const prefix = h.toString('latin1', 257, 262) === 'ustar' ? cstring(h, 345, 155) : ''
    let name = cstring(h, 0, 100)
    if (prefix) name = `${prefix}/${name}`
    out.push({
      path: pax.path ?? longName ?? name,
      type,
      mode: octal(h, 100, 8),
      uid: octal(h, 108, 8),
      gid: octal(h, 116, 8),
      mtime: pax.mtime !== undefined ? Number(pax.mtime) : octal(h, 136, 12),
      size,
      linkpath: pax.linkpath ?? cstring(h, 157, 100),
      data: Buffer.from(data),
    })
    pax = {}
    longName = null
  }
  return out
}

/**
 * The files of an npm tgz as { 'rel/path': { data, exec } }: `package/`
 * stripped, hard links resolved to their target's content.
 */
export function tgzFiles (file) {
  const entries = readTar(zlib.gunzipSync(fs.readFileSync(file)))
  const files = {}
  for (const e of entries) {
    const rel = e.path.replace(/^package\//, '')
    if (e.type === '0') files[rel] = { data: e.data, exec: (e.mode & 0o100) !== 0 }
    else if (e.type === '1') {
      const target = files[e.linkpath.replace(/^package\//, '')]
      files[rel] = { data: target.data, exec: (e.mode & 0o100) !== 0 }
    } else throw new Error(`unexpected tgz entry type ${e.type} for ${e.path}`)
  }
  return files
}

/** The files under `dir` as { 'rel/path': { data, exec } }; fails on links and special files. */
export function treeFiles (dir) {
  const files = {}
  const walk = (rel) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name
      const abs = path.join(dir, r)
      if (d.isDirectory()) walk(r)
      else if (d.isFile()) files[r] = { data: fs.readFileSync(abs), exec: (fs.statSync(abs).mode & 0o100) !== 0 }
      else throw new Error(`${abs} is not a regular file or folder`)
    }
  }
  walk('')
  return files
}

/**
 * Extracts `plugin` from a layer blob the way RHDH's Python installer does
 * (raw name prefix, per-entry size limit, links skipped, filter='data').
 * Resolves to the member names it kept.
 */
export function rhdhExtract (layerFile, plugin, dest, maxEntrySize = 20_000_000) {
  const out = run('python3', [path.join(here, 'rhdh-extract.py'), layerFile, plugin, dest, String(maxEntrySize)])
  return JSON.parse(out.trim().split('\n').pop())
}
