'use strict'
// What the bench runs against, found (or installed into the cache) at run
// time: a snapshot of dynpack itself, npm and its libnpmpack, podman and the
// janus-idp CLI. Each probe returns a value or `{ skip: reason }`, so that a
// missing contender becomes a visible "skipped" row instead of a failure.

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const REPO = path.resolve(__dirname, '..', '..')
const JANUS_PACKAGE = '@janus-idp/cli'

function sh (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts })
  return { ok: r.status === 0, status: r.status, stdout: (r.stdout || '').trim(), stderr: (r.stderr || '').trim(), error: r.error }
}

function firstLine (s) { return String(s || '').split('\n').find((l) => l.trim() && !/Unknown user config/.test(l)) || '' }

/**
 * Copies the built package (loader, addon, lib/, bin/) into the cache, so
 * that every child of one run loads the same binary even while developers
 * rebuild the tree. Builds the addon first when a fresh clone has none.
 */
function snapshotDynpack (cacheDir, log) {
  const hasAddon = () => fs.readdirSync(REPO).some((f) => f.endsWith('.node')) && fs.existsSync(path.join(REPO, 'index.js'))
  if (!hasAddon()) {
    log('the native addon is not built: running `npm run build` ...')
    const r = sh('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' })
    if (!r.ok || !hasAddon()) return { skip: 'the native addon is not built and `npm run build` failed' }
  }
  const dest = path.join(cacheDir, 'dynpack')
  fs.rmSync(dest, { recursive: true, force: true })
  fs.mkdirSync(dest, { recursive: true })
  let addonSha = null
  for (const f of fs.readdirSync(REPO)) {
    if (f.endsWith('.node') || f === 'index.js' || f === 'package.json') {
      fs.copyFileSync(path.join(REPO, f), path.join(dest, f))
      if (f.endsWith('.node')) addonSha = crypto.createHash('sha256').update(fs.readFileSync(path.join(dest, f))).digest('hex').slice(0, 16)
    }
  }
  for (const d of ['lib', 'bin']) {
    if (fs.existsSync(path.join(REPO, d))) fs.cpSync(path.join(REPO, d), path.join(dest, d), { recursive: true })
  }
  const probe = sh(process.execPath, ['-e', `
    const api = require(${JSON.stringify(path.join(dest, 'lib', 'api.js'))})
    console.log(JSON.stringify({ buildOciLayout: typeof api.buildOciLayout === 'function' }))`])
  if (!probe.ok) return { skip: `dynpack does not load: ${firstLine(probe.stderr)}` }
  const api = JSON.parse(probe.stdout)
  const bin = path.join(dest, 'bin', 'dynpack.js')
  let cli = { skip: 'bin/dynpack.js does not exist yet (issue 4)' }
  if (fs.existsSync(bin)) {
    const help = sh(process.execPath, [bin, 'pack', '--help'])
    cli = help.ok ? { bin } : { skip: `\`dynpack pack --help\` fails: ${firstLine(help.stderr || help.stdout)}` }
  }
  return {
    api: path.join(dest, 'lib', 'api.js'),
    cli,
    buildOciLayout: api.buildOciLayout ? true : { skip: 'lib/api.js has no buildOciLayout yet (issue 3)' },
    addonSha,
  }
}

/** npm's own libnpmpack, from the npm installation that `npm` runs. */
function findLibnpmpack () {
  const candidates = []
  const root = sh('npm', ['root', '-g'])
  if (root.ok) candidates.push(path.join(root.stdout.split('\n').pop(), 'npm', 'node_modules', 'libnpmpack'))
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'libnpmpack'))
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, 'package.json'))) {
      return { dir: c, version: JSON.parse(fs.readFileSync(path.join(c, 'package.json'), 'utf8')).version }
    }
  }
  return { skip: `npm's bundled libnpmpack not found (looked in ${candidates.join(', ')})` }
}

/** Whether podman can build and push here: `podman info`, then a FROM-scratch build. */
function probePodman () {
  const v = sh('podman', ['--version'])
  if (v.error || !v.ok) return { skip: 'podman is not installed' }
  const info = sh('podman', ['info', '--format', '{{.Store.GraphDriverName}}'], { timeout: 60000 })
  if (!info.ok) return { skip: `\`podman info\` fails: ${firstLine(info.stderr)}` }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynpack-bench-podman-'))
  const tag = 'localhost/dynpack-bench/probe:v1'
  try {
    fs.mkdirSync(path.join(dir, 'ctx'))
    fs.writeFileSync(path.join(dir, 'ctx', 'hello.txt'), 'hello\n')
    fs.writeFileSync(path.join(dir, 'Containerfile'), 'FROM scratch\nCOPY . .\n')
    const b = sh('podman', ['build', '-q', '-t', tag, '-f', path.join(dir, 'Containerfile'), path.join(dir, 'ctx')], { timeout: 120000 })
    if (!b.ok) return { skip: `a FROM-scratch \`podman build\` fails: ${firstLine(b.stderr)}` }
    return { version: v.stdout.replace(/^podman version /, ''), storage: info.stdout }
  } finally {
    sh('podman', ['rmi', '-f', tag])
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The janus-idp CLI, installed with npm into `<cache>/janus` on first use. */
function ensureJanusCli (cacheDir, { install, log }) {
  const dir = path.join(cacheDir, 'janus')
  const pkgJson = path.join(dir, 'node_modules', ...JANUS_PACKAGE.split('/'), 'package.json')
  if (!fs.existsSync(pkgJson)) {
    if (!install) return { skip: `${JANUS_PACKAGE} is not installed in ${dir} and this run does not install it (run the full bench once)` }
    log(`installing ${JANUS_PACKAGE} into ${path.relative(process.cwd(), dir)} with npm ...`)
    fs.mkdirSync(dir, { recursive: true })
    const own = path.join(dir, 'package.json')
    if (!fs.existsSync(own)) fs.writeFileSync(own, JSON.stringify({ name: 'dynpack-bench-tools', private: true }, null, 2) + '\n')
    const r = sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', JANUS_PACKAGE], { cwd: dir, timeout: 15 * 60 * 1000 })
    if (!r.ok || !fs.existsSync(pkgJson)) return { skip: `npm install ${JANUS_PACKAGE} failed: ${firstLine(r.stderr.split('\n').filter((l) => /ERR/.test(l)).join('\n') || r.stderr)}` }
  }
  const meta = JSON.parse(fs.readFileSync(pkgJson, 'utf8'))
  const rel = typeof meta.bin === 'string' ? meta.bin : Object.values(meta.bin || {})[0]
  if (!rel) return { skip: `${JANUS_PACKAGE} has no bin` }
  return { bin: path.join(path.dirname(pkgJson), rel), version: meta.version }
}

/** The machine the numbers come from. */
function machine () {
  const cpus = os.cpus()
  const npm = sh('npm', ['--version'])
  const sha = sh('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO })
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO })
  return {
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 1e8) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    zlib: process.versions.zlib,
    npm: npm.ok ? firstLine(npm.stdout) : null,
    commit: sha.ok ? sha.stdout + (dirty.ok && dirty.stdout ? ' (modified tree)' : '') : null,
  }
}

module.exports = { REPO, sh, snapshotDynpack, findLibnpmpack, probePodman, ensureJanusCli, machine }
