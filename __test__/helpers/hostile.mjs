// Shared by the hostile-*.test.mjs files: outcomes of packDynamic and of the
// real `npm pack` on the same folder, another user's view, small tmpfs
// mounts, and checks that nothing was left behind.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
export const API = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'api.js')
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'dynpack.js')
export const api = require(API)

/** The temporary files dynpack writes before renaming (`.name.….dynpack-tmp`). */
export function tempFiles (dir) {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir).filter((n) => n.endsWith('.dynpack-tmp'))
}

/** Every entry under `dir` (files with content, folders, links), for before/after comparisons. */
export function snapshot (dir) {
  const out = {}
  const walk = (rel) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name
      const abs = path.join(dir, r)
      if (ent.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(abs)}`
      else if (ent.isDirectory()) { out[r] = '<dir>'; walk(r) } else if (ent.isFile()) out[r] = fs.readFileSync(abs).toString('base64')
      else out[r] = '<special>'
    }
  }
  if (fs.existsSync(dir)) walk('')
  return out
}

/** `packDynamic`'s outcome: `{ ok: result }` or `{ code, message }`. */
export async function packOutcome (dir, options) {
  try {
    return { ok: await api.packDynamic(dir, options) }
  } catch (e) {
    if (typeof e.code !== 'string' || !/^E_[A-Z0-9_]+$/.test(e.code)) throw e
    return { code: e.code, message: e.message }
  }
}

/**
 * The real `npm pack --json --ignore-scripts` into `dest`:
 * `{ ok: json, file }` or `{ error: stderr }`. Killed after `timeoutMs`
 * (npm hangs on some inputs, e.g. FIFOs it opens).
 */
export function npmOutcome (dir, dest, { timeoutMs = 600_000, extra = [] } = {}) {
  fs.mkdirSync(dest, { recursive: true })
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest, ...extra], {
    cwd: dir,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
  })
  if (r.error && r.error.code === 'ETIMEDOUT') return { error: `npm pack did not finish within ${timeoutMs} ms`, hung: true }
  if (r.status !== 0) return { error: r.stderr || `exit ${r.status}` }
  const json = JSON.parse(r.stdout)[0]
  const files = fs.readdirSync(dest).filter((n) => n.endsWith('.tgz'))
  return { ok: json, file: files.length === 1 ? path.join(dest, files[0]) : null }
}

/** `mkfifo` (no Node API for it). */
export function mkfifo (file) {
  execFileSync('mkfifo', [file])
}

export const NOBODY = 65534

/** True when this process may run code as another user (it is root). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

let apiCopy = null
/**
 * lib/api.js in a folder every user can read: the checkout may sit where
 * user nobody cannot go (a home folder). Removed when the process exits.
 */
function readableApi () {
  if (apiCopy) return apiCopy
  const repo = path.dirname(path.dirname(API))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-api-'))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  fs.cpSync(path.join(repo, 'lib'), path.join(dir, 'lib'), { recursive: true })
  for (const f of fs.readdirSync(repo)) {
    if (f === 'index.js' || f === 'package.json' || f.endsWith('.node')) fs.copyFileSync(path.join(repo, f), path.join(dir, f))
  }
  fs.chmodSync(dir, 0o755)
  apiCopy = path.join(dir, 'lib', 'api.js')
  return apiCopy
}

/**
 * Runs `body` (the text of an async function of `api`, returning a JSON
 * value) as user nobody when this process is root, else as this user, and
 * returns `{ value }` or `{ code, message }`.
 */
export function runUnprivileged (body, args = {}) {
  const script = `
    const api = require(${JSON.stringify(isRoot ? readableApi() : API)})
    const args = ${JSON.stringify(args)}
    ;(async () => { ${body} })().then(
      (value) => process.stdout.write(JSON.stringify({ value })),
      (e) => process.stdout.write(JSON.stringify({ code: e.code, message: e.message })))`
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    cwd: '/',
    timeout: 120_000,
    ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  })
  if (r.status !== 0 || !r.stdout) throw new Error(`child failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** Makes `dir` and its ancestors up to `root` traversable by other users. */
export function openUp (root, dir = root) {
  for (let d = dir; ; d = path.dirname(d)) {
    fs.chmodSync(d, fs.statSync(d).mode | 0o755)
    if (d === root || d === path.dirname(d)) break
  }
}

/**
 * Mounts a tmpfs of `size` at a new folder under `parent`; returns its path,
 * or null with the reason when mounting is not permitted here.
 */
export function mountTmpfs (parent, size) {
  const dir = fs.mkdtempSync(path.join(parent, 'tmpfs-'))
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' })
  if (r.status !== 0) {
    fs.rmdirSync(dir)
    return { reason: `cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim()})` }
  }
  return { dir, unmount: () => spawnSync('umount', ['-l', dir]) }
}

/** Incompressible bytes (xorshift), deterministic. */
export function randomBytes (size) {
  const out = Buffer.alloc(size)
  let x = 0x2545f491
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
