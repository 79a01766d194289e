// The `dynpack` command line, run as a subprocess (bin/dynpack.js) on the
// example monorepo (examples/make-examples.js) and on monorepos built here,
// checked against the real `npm pack`, `tar`, skopeo and a local registry.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir, writeTree } from './helpers/tree.mjs'
import { startDockerRegistry as startRegistry } from './helpers/registries.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { makeExamples } = require('../examples/make-examples.js')
const { main } = require('../lib/cli/main.js')
const api = require('../lib/api.js')
const pkgVersion = require('../package.json').version

const CI = process.env.CI === 'true'
const hasOci = typeof api.buildOciLayout === 'function'
const OCI_MISSING = 'buildOciLayout is not exported by lib/api.js yet (issue 3)'

/** `false` when `tool` runs; otherwise the reason to skip (or a failure under CI). */
function needTool (tool, args = ['--version']) {
  const r = spawnSync(tool, args, { stdio: 'ignore' })
  if (r.status === 0) return false
  if (CI) throw new Error(`${tool} is required in CI but is not installed`)
  return `${tool} is not installed`
}

/** Runs `dynpack ...args`; resolves `{ status, stdout, stderr }`. */
function dynpack (args, { cwd, env } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Asserts a failure: the exit status and exactly one stderr line `dynpack: CODE: …`. */
function assertFails (r, status, code, pattern) {
  assert.equal(r.status, status, `exit status (stderr: ${r.stderr})`)
  const lines = r.stderr.split('\n').filter((l) => l && !/^dynpack: (skipping|warning)/.test(l))
  assert.equal(lines.length, 1, `one error line, got: ${r.stderr}`)
  assert.match(lines[0], new RegExp(`^dynpack: ${code}: `))
  if (pattern) assert.match(lines[0], pattern)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
}

/** Parses YAML texts with PyYAML, the parser of RHDH's installer; null when it is not installed. */
function pyYaml (texts) {
  const script = 'import json, sys, yaml\nprint(json.dumps([yaml.safe_load(t) for t in json.load(sys.stdin)]))'
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`PyYAML failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

function needPyYaml () {
  const r = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' })
  if (r.status === 0) return false
  if (CI) throw new Error('python3 with PyYAML (python3-yaml) is required in CI')
  return 'python3 with PyYAML is not installed'
}

function npmPackJson (dirs, dest, cwd) {
  fs.mkdirSync(dest, { recursive: true })
  return JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest, ...dirs], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
  }))
}

/** Every file and symlink under `dir`: `{ rel: {mode, content | link} }`. */
function snapshot (dir) {
  const out = {}
  const walk = (rel) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name
      const abs = path.join(dir, r)
      if (ent.isDirectory()) walk(r)
      else if (ent.isSymbolicLink()) out[r] = { link: fs.readlinkSync(abs) }
      else out[r] = { mode: fs.statSync(abs).mode & 0o777, sha: crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex') }
    }
  }
  walk('')
  return out
}

const sri = (alg, file) => `${alg}-${crypto.createHash(alg).update(fs.readFileSync(file)).digest('base64')}`

let root
let ex
before(() => {
  root = tempDir('dynpack-cli-')
  ex = makeExamples(path.join(root, 'examples'))
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

// ---------------------------------------------------------------------------

describe('dispatcher', () => {
  test('--version prints the package version', () => {
    const r = dynpack(['--version'])
    assert.equal(r.status, 0)
    assert.equal(r.stdout, pkgVersion + '\n')
  })

  test('--help lists every command; <command> --help prints its usage', () => {
    const r = dynpack(['--help'])
    assert.equal(r.status, 0)
    for (const c of ['package', 'pack', 'integrity', 'verify']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'))
    for (const c of ['package', 'pack', 'integrity', 'verify']) {
      const h = dynpack([c, '--help'])
      assert.equal(h.status, 0)
      assert.match(h.stdout, new RegExp(`^Usage: dynpack ${c} `))
      assert.equal(h.stderr, '')
    }
    assert.equal(dynpack(['help', 'pack']).stdout, dynpack(['pack', '-h']).stdout)
  })

  test('usage errors exit 2 with one line', () => {
    const none = dynpack([])
    assert.equal(none.status, 2)
    assert.match(none.stderr, /^Usage: dynpack/)
    assertFails(dynpack(['frobnicate']), 2, 'E_USAGE', /unknown command "frobnicate"/)
    assertFails(dynpack(['--frob']), 2, 'E_USAGE', /unknown option --frob/)
    assertFails(dynpack(['pack', '--frob']), 2, 'E_USAGE', /unknown option --frob; see `dynpack pack --help`/)
    assertFails(dynpack(['pack', '--jsno']), 2, 'E_USAGE', /unknown option --jsno; did you mean --json\?; see `dynpack pack --help`/)
    assertFails(dynpack(['pack', '--pack-dest', 'x']), 2, 'E_USAGE', /did you mean --pack-destination\?/)
    assertFails(dynpack(['package', '--tga', 'x']), 2, 'E_USAGE', /unknown option --tga; did you mean --tag\?/)
    assertFails(dynpack(['pakc']), 2, 'E_USAGE', /unknown command "pakc"; did you mean `dynpack pack`\?/)
    assertFails(dynpack(['pack', '--pack-destination']), 2, 'E_USAGE', /--pack-destination needs a value/)
    assertFails(dynpack(['pack', '--json=yes']), 2, 'E_USAGE', /--json takes no value/)
    assertFails(dynpack(['pack', '--quiet', '--verbose']), 2, 'E_USAGE', /exclude each other/)
    assertFails(dynpack(['pack', '--base-url', 'plugin-registry']), 2, 'E_USAGE', /not an absolute URL/)
    assertFails(dynpack(['integrity']), 2, 'E_USAGE', /missing argument/)
    assertFails(dynpack(['verify', 'x.tgz']), 2, 'E_USAGE')
    assertFails(dynpack(['verify', 'x.tgz', 'sha512-x', 'extra']), 2, 'E_USAGE', /unexpected argument "extra"/)
    const cwd = ex.backend
    assertFails(dynpack(['package'], { cwd }), 2, 'E_USAGE', /pass --tag IMAGE:TAG .* or --export-to DIR/)
    assertFails(dynpack(['package', '--output', 'o'], { cwd }), 2, 'E_USAGE', /--output needs --tag/)
    assertFails(dynpack(['package', '-t', 'q.io/a/b:1', '--output', 'o', '--archive', 'a.tar'], { cwd }), 2, 'E_USAGE', /exclude each other/)
    assertFails(dynpack(['package', '-t', 'q.io/a/b:1', '--annotation', 'novalue'], { cwd }), 2, 'E_USAGE', /expected key=value/)
    assertFails(dynpack(['package', '--tag', '', '--export-to', 'x'], { cwd }), 2, 'E_USAGE', /--tag needs a non-empty value/)
  })

  test('a missing native addon is one clear line; --help still works', () => {
    const env = { NAPI_RS_NATIVE_LIBRARY_PATH: path.join(root, 'missing.node') }
    assertFails(dynpack(['integrity', BIN], { env }), 1, 'E_NO_ADDON', /run `npm run build`/)
    assert.equal(dynpack(['pack', '--help'], { env }).status, 0)
  })

  test('progress goes to stderr only when it is a terminal', async () => {
    const run = async (isTTY, extra = []) => {
      const stdout = new PassThrough()
      const stderr = new PassThrough()
      const chunks = { out: '', err: '' }
      stdout.on('data', (d) => { chunks.out += d })
      stderr.on('data', (d) => { chunks.err += d })
      const dest = tempDir('dynpack-cli-tty-')
      try {
        const status = await main(['pack', ex.backendDistDynamic, ex.frontendDistDynamic, '--pack-destination', dest, ...extra],
          { stdout, stderr, cwd: root, env: process.env, isTTY })
        return { status, ...chunks }
      } finally {
        fs.rmSync(dest, { recursive: true, force: true })
      }
    }
    const tty = await run(true)
    assert.equal(tty.status, 0)
    assert.equal(tty.out, 'acme-plugin-todo-backend-dynamic-1.2.0.tgz\nacme-plugin-todo-frontend-dynamic-1.2.0.tgz\n')
    assert.match(tty.err, /^dynpack: packed @acme\/plugin-todo-backend-dynamic@1\.2\.0: 20 files, 8\.\d kB -> /m)
    assert.match(tty.err, /^dynpack: packed @acme\/plugin-todo-frontend-dynamic@1\.2\.0: 15 files, /m)
    const pipe = await run(false)
    assert.equal(pipe.out, tty.out)
    // no progress when piped; only each tarball's integrity, as npm's notice has it
    assert.match(pipe.err, /^dynpack: acme-plugin-todo-backend-dynamic-1\.2\.0\.tgz {3}integrity: sha512-[A-Za-z0-9+/]{86}==\ndynpack: acme-plugin-todo-frontend-dynamic-1\.2\.0\.tgz  integrity: sha512-[A-Za-z0-9+/]{86}==\n$/)
    assert.equal((await run(true, ['--quiet'])).err, '')
    const verbose = await run(false, ['--verbose'])
    assert.match(verbose.err, /Tarball Contents/)
    assert.match(verbose.err, /integrity: sha512-/)
  })
})

// ---------------------------------------------------------------------------

describe('pack', () => {
  test('--json equals `npm pack --json --ignore-scripts` for several folders, same bytes', () => {
    const dirs = [path.relative(ex.root, ex.backendDistDynamic), path.relative(ex.root, ex.frontendDistDynamic)]
    const expected = npmPackJson(dirs, path.join(root, 'npm-out'), ex.root)
    const r = dynpack(['pack', ...dirs, '--json', '--pack-destination', path.join(root, 'cli-out')], { cwd: ex.root })
    assert.equal(r.status, 0, r.stderr)
    const actual = JSON.parse(r.stdout)
    assert.deepEqual(actual, expected)
    assert.deepEqual(actual.map(Object.keys), expected.map(Object.keys), 'key order')
    assert.equal(r.stdout, JSON.stringify(expected, null, 2) + '\n')
    for (const e of expected) {
      assert.ok(fs.readFileSync(path.join(root, 'cli-out', e.filename)).equals(fs.readFileSync(path.join(root, 'npm-out', e.filename))), e.filename)
    }
  })

  test('prints the file names as npm does and packs the current folder by default', () => {
    const dest = path.join(root, 'default-dest')
    fs.mkdirSync(dest)
    const r = dynpack(['pack', '--pack-destination', dest], { cwd: ex.frontendDistDynamic })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz\n')
    const integrity = 'dynpack: acme-plugin-todo-frontend-dynamic-1.2.0.tgz  integrity: ' + sri('sha512', path.join(dest, 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz')) + '\n'
    assert.equal(r.stderr, integrity)
    assert.deepEqual(fs.readdirSync(dest), ['acme-plugin-todo-frontend-dynamic-1.2.0.tgz'])
    const source = dynpack(['pack', '--dry-run'], { cwd: ex.frontend })
    // a plugin folder means its dist-dynamic/, as for every command, and says so
    assert.equal(source.stdout, 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz\n')
    assert.equal(source.stderr, 'dynpack: using dist-dynamic, the dynamic plugin exported from .\n' + integrity)
    const inCwd = dynpack(['pack'], { cwd: ex.frontendDistDynamic })
    assert.equal(inCwd.status, 0, inCwd.stderr)
    const written = path.join(ex.frontendDistDynamic, 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz')
    assert.ok(fs.readFileSync(written).equals(fs.readFileSync(path.join(dest, 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz'))))
    fs.rmSync(written)
  })

  test('--dry-run writes nothing and reports what would be written', () => {
    const dest = path.join(root, 'dry')
    const r = dynpack(['pack', ex.backendDistDynamic, '--dry-run', '--json', '--pack-destination', dest])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(fs.existsSync(dest), false)
    const [dry] = JSON.parse(r.stdout)
    const real = JSON.parse(dynpack(['pack', ex.backendDistDynamic, '--json', '--pack-destination', dest]).stdout)
    assert.deepEqual([dry], real)
  })

  test('--base-url prints dynamic-plugins.yaml entries with package URL and integrity', () => {
    const dest = path.join(root, 'registry')
    const r = dynpack(['pack', 'todo-backend/dist-dynamic', 'todo-frontend/dist-dynamic', '--pack-destination', dest, '--base-url', 'http://plugin-registry:8080/plugins/'],
      { cwd: path.join(ex.root, 'plugins') })
    assert.equal(r.status, 0, r.stderr)
    const b = 'acme-plugin-todo-backend-dynamic-1.2.0.tgz'
    const f = 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz'
    const [names, yaml] = r.stdout.split('\n\n')
    assert.equal(names, `${b}\n${f}`)
    assert.match(yaml, new RegExp(`^plugins:\\n  - package: http://plugin-registry:8080/plugins/${b}\\n    integrity: ${escapeRe(sri('sha512', path.join(dest, b)))}\\n    disabled: false\\n    pluginConfig:\\n      # The todo backend`, 'm'))
    assert.match(yaml, new RegExp(`  - package: http://plugin-registry:8080/plugins/${f}\\n    integrity: ${escapeRe(sri('sha512', path.join(dest, f)))}\\n    disabled: false\\n    pluginConfig:\\n      dynamicPlugins:\\n        frontend:\\n          acme.plugin-todo-frontend:\\n`))
    assert.match(yaml, /^ {20}gridColumnEnd: 'span 6'$/m, 'app-config re-indented as written')

    const j = dynpack(['pack', ex.frontendDistDynamic, '--json', '--dry-run', '--base-url', 'https://h.example/a b'])
    assert.equal(j.status, 0, j.stderr)
    const [entry] = JSON.parse(j.stdout)
    assert.equal(entry.package, `https://h.example/a%20b/${f}`)
    assert.deepEqual(Object.keys(entry).slice(-1), ['package'])
  })

  test('--fast writes a different gzip of the same tar, and its integrity verifies', () => {
    const dest = path.join(root, 'fast')
    const r = dynpack(['pack', ex.backendDistDynamic, '--fast', '--json', '--pack-destination', dest])
    assert.equal(r.status, 0, r.stderr)
    const [fast] = JSON.parse(r.stdout)
    const file = path.join(dest, fast.filename)
    assert.equal(fast.integrity, sri('sha512', file))
    const v = dynpack(['verify', file, fast.integrity])
    assert.equal(v.status, 0, v.stderr)
  })

  test('failures: exit 1 and one line naming the folder and the fix', () => {
    assertFails(dynpack(['pack', path.join(root, 'nope')]), 1, 'E_NOT_FOUND', /nope: no such folder/)
    const empty = path.join(root, 'empty')
    fs.mkdirSync(empty)
    assertFails(dynpack(['pack', empty]), 1, 'E_NO_PACKAGE_JSON', /empty: no package.json; run the dynamic-plugin export/)
    const copy = path.join(root, 'copy-of-frontend-dist-dynamic')
    fs.cpSync(ex.frontendDistDynamic, copy, { recursive: true, verbatimSymlinks: true })
    assertFails(dynpack(['pack', ex.frontendDistDynamic, copy, '--dry-run']), 2, 'E_USAGE', /both pack to acme-plugin-todo-frontend-dynamic-1\.2\.0\.tgz/)
    // the same plugin named twice (its folder and its dist-dynamic) is packed once
    const twice = dynpack(['pack', ex.frontendDistDynamic, ex.frontend, '--dry-run'])
    assert.equal(twice.status, 0, twice.stderr)
    assert.equal(twice.stdout, 'acme-plugin-todo-frontend-dynamic-1.2.0.tgz\n')
    const file = path.join(root, 'a-file')
    fs.writeFileSync(file, 'x')
    assertFails(dynpack(['pack', ex.frontendDistDynamic, '--pack-destination', path.join(file, 'sub')]), 1, 'E_DESTINATION')
  })
})

// ---------------------------------------------------------------------------

describe('integrity and verify', () => {
  let tgz
  before(() => {
    const dest = path.join(root, 'iv')
    const [p] = npmPackJson([ex.frontendDistDynamic], dest, root)
    tgz = path.join(dest, p.filename)
  })

  test('integrity prints the SRI npm computes', () => {
    const [p] = npmPackJson([ex.frontendDistDynamic], path.join(root, 'iv2'), root)
    const r = dynpack(['integrity', tgz])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, p.integrity + '\n')
    assert.equal(r.stderr, '')
  })

  test('several files, --algorithm and --json', () => {
    const other = path.join(root, 'other.bin')
    fs.writeFileSync(other, Buffer.from([0, 1, 2, 255]))
    const r = dynpack(['integrity', tgz, other, '--algorithm', 'sha256'], { cwd: root })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, `${sri('sha256', tgz)}  ${tgz}\n${sri('sha256', other)}  ${other}\n`)
    const j = dynpack(['integrity', 'other.bin', '-a', 'sha384,sha512', '--json'], { cwd: root })
    assert.equal(j.status, 0)
    assert.deepEqual(JSON.parse(j.stdout), [{ file: 'other.bin', integrity: `${sri('sha384', other)} ${sri('sha512', other)}` }])
    assert.match(j.stderr, /RHDH accepts a single sha512, sha384 or sha256 hash/)
    assertFails(dynpack(['integrity', tgz, '--algorithm', 'md5']), 1, 'E_UNKNOWN_ALGORITHM')
    assertFails(dynpack(['integrity', path.join(root, 'missing.tgz')]), 1, 'E_NOT_FOUND', /missing\.tgz: no such file/)
  })

  test('verify: exit 0 on a match', () => {
    const r = dynpack(['verify', path.basename(tgz), sri('sha512', tgz)], { cwd: path.dirname(tgz) })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, `${path.basename(tgz)}: OK\n`)
    const q = dynpack(['verify', tgz, sri('sha256', tgz), '-q'])
    assert.equal(q.status, 0)
    assert.equal(q.stdout + q.stderr, '')
    const j = dynpack(['verify', tgz, sri('sha384', tgz), '--json'])
    assert.deepEqual(JSON.parse(j.stdout), { file: tgz, integrity: sri('sha384', tgz), ok: true, expected: sri('sha384', tgz), actual: sri('sha384', tgz) })
  })

  test('verify: exit 1 on a mismatch, saying what the file has', () => {
    const wrong = 'sha512-' + Buffer.alloc(64, 7).toString('base64')
    const r = dynpack(['verify', tgz, wrong])
    assertFails(r, 1, 'E_INTEGRITY_MISMATCH')
    assert.ok(r.stderr.includes(`the file has ${sri('sha512', tgz)}, expected ${wrong}`), r.stderr)
    assert.equal(r.stdout, '')
    const j = dynpack(['verify', tgz, wrong, '--json'])
    assertFails(j, 1, 'E_INTEGRITY_MISMATCH')
    assert.deepEqual(JSON.parse(j.stdout), { file: tgz, ok: false, expected: wrong, actual: sri('sha512', tgz) })
    const r256 = dynpack(['verify', tgz, 'sha256-' + Buffer.alloc(32).toString('base64')])
    assertFails(r256, 1, 'E_INTEGRITY_MISMATCH')
    assert.ok(r256.stderr.includes(`the file has ${sri('sha256', tgz)}`))
    assertFails(dynpack(['verify', tgz, 'sha512-abc']), 1, 'E_INVALID_SRI', /not the base64 of 64 bytes/)
    assertFails(dynpack(['verify', path.join(root, 'missing.tgz'), wrong]), 1, 'E_NOT_FOUND')
  })
})

// ---------------------------------------------------------------------------

/** A monorepo whose workspaces are not under plugins/, with packages to skip. */
function buildMonorepo (dir) {
  const mk = makeExamples(path.join(dir, 'src'))
  const move = (from, to) => fs.cpSync(from, path.join(dir, to), { recursive: true, verbatimSymlinks: true })
  move(mk.backend, 'backstage/backend/todo-backend')
  move(mk.frontend, 'packages/frontend/todo')
  move(mk.common, 'packages/todo-common')
  fs.rmSync(path.join(dir, 'src'), { recursive: true })
  writeTree(dir, {
    'package.json': { json: { name: 'root', private: true, workspaces: { packages: ['packages/**', 'backstage/*/*', 'tools/*', '!tools/ignored'] } } },
    // a plugin that has not been exported
    'packages/frontend/not-exported/package.json': { json: { name: '@acme/plugin-not-exported', version: '1.0.0', backstage: { role: 'frontend-plugin' } } },
    // a package with no Backstage role, with a dist-dynamic folder all the same
    'tools/cli/package.json': { json: { name: 'acme-cli', version: '1.0.0' } },
    'tools/cli/dist-dynamic/package.json': { json: { name: 'acme-cli-dynamic', version: '1.0.0' } },
    'tools/ignored/package.json': { json: { name: 'ignored', version: '1.0.0', backstage: { role: 'backend-plugin' } } },
    // not a workspace: matched by no glob
    'docs/package.json': { json: { name: 'docs', version: '1.0.0', backstage: { role: 'backend-plugin' } } },
    // node_modules is never searched
    'packages/frontend/todo/node_modules/x/package.json': { json: { name: 'x', version: '1.0.0', backstage: { role: 'frontend-plugin' } } },
  })
  return dir
}

describe('package --export-to', () => {
  test('a plugin folder: the files `npm pack` + `tar -x` stage, index.json and the snippet', (t) => {
    const skip = needTool('tar')
    if (skip) return t.skip(skip)
    const out = path.join(root, 'export-single')
    const r = dynpack(['package', '--export-to', out], { cwd: ex.backend })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, 'dynpack: using dist-dynamic, the dynamic plugin exported from .\n')

    // what rhdh-cli >= 1.11 stages: npm pack, then tar -xzf --strip-components=1
    const [p] = npmPackJson([ex.backendDistDynamic], path.join(root, 'export-npm'), root)
    const staged = path.join(root, 'export-staged')
    fs.mkdirSync(staged)
    execFileSync('tar', ['-xzf', path.join(root, 'export-npm', p.filename), '-C', staged, '--strip-components=1'])
    const dir = path.join(out, 'acme-plugin-todo-backend')
    assert.deepEqual(snapshot(dir), snapshot(staged))
    assert.ok(!fs.existsSync(path.join(dir, 'node_modules', '.bin')))
    assert.ok(fs.existsSync(path.join(dir, 'node_modules/todo-comments/node_modules/@acme-oss/text-utils/index.js')))
    assert.deepEqual(fs.readdirSync(out).sort(), ['acme-plugin-todo-backend', 'index.json'])

    const manifest = JSON.parse(fs.readFileSync(path.join(ex.backendDistDynamic, 'package.json'), 'utf8'))
    const { name, version, description, backstage, homepage, repository, license, keywords } = manifest
    assert.equal(fs.readFileSync(path.join(out, 'index.json'), 'utf8'),
      JSON.stringify([{ 'acme-plugin-todo-backend': { name, version, description, backstage, homepage, repository, license, keywords } }], undefined, 2))

    assert.match(r.stdout, /^Wrote 1 plugin folder and index.json to /)
    assert.match(r.stdout, /^plugins:\n {2}- package: \.\/local-plugins\/acme-plugin-todo-backend\n {4}disabled: false\n {4}pluginConfig:\n {6}# The todo backend's settings/m)

    // a second run replaces the plugin folder and keeps other content
    fs.writeFileSync(path.join(dir, 'stale.js'), 'old')
    fs.writeFileSync(path.join(out, 'keep.txt'), 'mine')
    const again = dynpack(['package', '--export-to', out, '--quiet'], { cwd: ex.backend })
    assert.equal(again.status, 0, again.stderr)
    assert.ok(!fs.existsSync(path.join(dir, 'stale.js')))
    assert.deepEqual(fs.readdirSync(out).sort(), ['acme-plugin-todo-backend', 'index.json', 'keep.txt'])
    assert.match(again.stdout, /^plugins:\n/, '--quiet prints only the snippet')
  })

  test('a dist-dynamic folder: pluginConfig comes from the plugin folder above it', () => {
    const out = path.join(root, 'export-dd')
    const r = dynpack(['package', '--export-to', out, '--json'], { cwd: ex.frontendDistDynamic })
    assert.equal(r.status, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.mode, 'dist-dynamic')
    assert.equal(j.image, null)
    assert.equal(j.exportTo, out)
    assert.equal(j.plugins.length, 1)
    const [p] = j.plugins
    assert.equal(p.directory, 'acme-plugin-todo-frontend')
    assert.equal(p.name, '@acme/plugin-todo-frontend-dynamic')
    assert.equal(p.localPackage, './local-plugins/acme-plugin-todo-frontend')
    assert.equal(p.pluginConfig.file, path.join(ex.frontend, 'app-config.yaml'))
    assert.equal(p.pluginConfig.yaml, fs.readFileSync(path.join(ex.frontend, 'app-config.yaml'), 'utf8'))
    assert.ok(fs.existsSync(path.join(out, 'acme-plugin-todo-frontend', 'dist-scalprum', 'plugin-manifest.json')))
  })

  test('a monorepo: every workspace glob, plugins only, the others skipped with a note', () => {
    const repo = buildMonorepo(path.join(root, 'mono'))
    // app-config.janus-idp.yaml wins over app-config.yaml
    fs.writeFileSync(path.join(repo, 'packages/frontend/todo/app-config.janus-idp.yaml'), 'janus: true\n')
    const out = path.join(root, 'mono-export')
    const r = dynpack(['package', '--export-to', out], { cwd: repo })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, [
      'dynpack: skipping packages/frontend/not-exported: no dist-dynamic/ folder (nor a bundle/); export it first (dynpack --export, or `npx @red-hat-developer-hub/cli plugin export` in that folder)',
      "dynpack: skipping packages/todo-common: backstage.role 'common-library' is not a plugin role",
      'dynpack: skipping tools/cli: no backstage.role (not a Backstage plugin)',
      '',
    ].join('\n'))
    assert.deepEqual(fs.readdirSync(out).sort(), ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend', 'index.json'])
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')).map((e) => Object.keys(e)[0]),
      ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
    assert.match(r.stdout, /- package: \.\/local-plugins\/acme-plugin-todo-frontend\n {4}disabled: false\n {4}pluginConfig:\n {6}janus: true\n/)

    const j = JSON.parse(dynpack(['package', '--export-to', out, '--json', '--quiet'], { cwd: repo }).stdout)
    assert.equal(j.mode, 'monorepo')
    assert.deepEqual(j.plugins.map((p) => path.relative(repo, p.source)), ['backstage/backend/todo-backend', 'packages/frontend/todo'])
    assert.deepEqual(j.skipped.map((s) => s.path), ['packages/frontend/not-exported', 'packages/todo-common', 'tools/cli'])
  })

  test("the packagers' options that do not apply are accepted with a note", () => {
    const out = path.join(root, 'export-compat')
    const r = dynpack(['package', '--export-to', out, '--container-tool', 'docker', '--preserve-temp-dir', '--use-docker'], { cwd: ex.frontend })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, [
      'dynpack: ignoring --container-tool: dynpack writes the image itself, no container tool is used',
      'dynpack: ignoring --use-docker: dynpack writes the image itself, no container tool is used',
      'dynpack: ignoring --preserve-temp-dir: dynpack keeps no temporary folder',
      'dynpack: using dist-dynamic, the dynamic plugin exported from .',
      '',
    ].join('\n'))
    assert.ok(fs.existsSync(path.join(out, 'acme-plugin-todo-frontend', 'package.json')))
  })

  test('failures: exit 1 and one line saying what to do', () => {
    const empty = path.join(root, 'pkg-empty')
    fs.mkdirSync(empty)
    assertFails(dynpack(['package', '--export-to', 'x'], { cwd: empty }), 1, 'E_NO_PACKAGE_JSON', /run dynpack in a plugin folder/)
    const src = path.join(root, 'pkg-noexport')
    writeTree(src, { 'package.json': { json: { name: '@acme/plugin-x', version: '1.0.0', backstage: { role: 'backend-plugin' } } } })
    assertFails(dynpack(['package', '--export-to', 'x'], { cwd: src }), 1, 'E_NO_DIST_DYNAMIC', /plugin export/)
    const mono = path.join(root, 'pkg-mono-empty')
    writeTree(mono, {
      'package.json': { json: { name: 'r', private: true, workspaces: ['plugins/*'] } },
      'plugins/lib/package.json': { json: { name: 'lib', version: '1.0.0', backstage: { role: 'common-library' } } },
    })
    const none = dynpack(['package', '--export-to', 'x'], { cwd: mono })
    assertFails(none, 1, 'E_NO_PLUGINS', /none of the 1 workspaces is an exported Backstage plugin/)
    assert.match(none.stderr, /skipping plugins\/lib/)
    const bad = path.join(root, 'pkg-bad')
    writeTree(bad, { 'package.json': '{ "name": ' })
    assertFails(dynpack(['package', '--export-to', 'x'], { cwd: bad }), 1, 'E_INVALID_MANIFEST', /pkg-bad\/package.json: .*fix package.json/)
    assert.equal(fs.existsSync(path.join(bad, 'x')), false, 'nothing written')
  })
})

// ---------------------------------------------------------------------------

describe('package (OCI image)', { skip: !hasOci && !CI && OCI_MISSING }, () => {
  test('a monorepo: one layout, the push command and the snippet by tag and by digest', async (t) => {
    const skip = needTool('skopeo') || (fs.existsSync('/usr/bin/docker-registry') ? false : needTool('/usr/bin/docker-registry'))
    if (skip) return t.skip(skip)
    const repo = buildMonorepo(path.join(root, 'mono-oci'))
    const registry = await startRegistry()
    try {
      const tag = `${registry.host}/acme/todo-plugins:1.2.0`
      // --annotation k=v k=v: the packagers' variadic form
      const r = dynpack(['package', '--tag', tag, '--output', 'out/oci', '--annotation', 'org.opencontainers.image.vendor=ACME', 'com.example.team=todo', '--label', 'team=todo'], { cwd: repo })
      assert.equal(r.status, 0, r.stderr)
      const j = JSON.parse(dynpack(['package', '--tag', tag, '--output', 'out/oci', '--annotation', 'org.opencontainers.image.vendor=ACME', 'com.example.team=todo', '--label', 'team=todo', '--json', '-q'], { cwd: repo }).stdout)
      const layout = path.join(repo, 'out', 'oci')
      assert.equal(j.image.output, layout)
      assert.equal(j.image.tag, tag)
      assert.deepEqual(j.plugins.map((p) => p.directory), ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
      for (const p of j.plugins) {
        assert.equal(p.package, `oci://${tag}!${p.directory}`)
        assert.equal(p.digestPackage, `oci://${registry.host}/acme/todo-plugins@${j.image.manifestDigest}!${p.directory}`)
        assert.ok(r.stdout.includes(`  - package: ${p.package}\n    # package: ${p.digestPackage}\n    disabled: false\n    pluginConfig:\n`), r.stdout)
      }
      // the same layout twice: reproducible
      assert.match(r.stdout, new RegExp(`manifest ${j.image.manifestDigest}`))

      // the printed command pushes it, and the digest reference is then valid
      const push = r.stdout.split('\n').find((l) => l.startsWith('  skopeo copy '))
      assert.equal(push.trim(), `skopeo copy --preserve-digests oci:out/oci:${j.image.refName} docker://${tag}`)
      execFileSync('skopeo', [...j.image.push.slice(1, -1), '--dest-tls-verify=false', j.image.push.at(-1)], { cwd: repo, stdio: 'pipe' })
      const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/acme/todo-plugins@${j.image.manifestDigest}`])
      assert.equal('sha256:' + crypto.createHash('sha256').update(raw).digest('hex'), j.image.manifestDigest)
      const manifest = JSON.parse(raw)
      assert.equal(manifest.annotations['org.opencontainers.image.vendor'], 'ACME')
      assert.equal(manifest.annotations['com.example.team'], 'todo')
      const packages = JSON.parse(Buffer.from(manifest.annotations['io.backstage.dynamic-packages'], 'base64').toString('utf8'))
      assert.deepEqual(packages.map((e) => Object.keys(e)[0]), ['acme-plugin-todo-backend', 'acme-plugin-todo-frontend'])
      const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:${j.image.refName}`], { encoding: 'utf8' }))
      assert.equal(inspect.Labels.team, 'todo')
    } finally {
      await registry.stop()
    }
  })

  test('--archive writes an OCI archive skopeo reads; --export-to as well', (t) => {
    const skip = needTool('skopeo')
    if (skip) return t.skip(skip)
    const archive = path.join(root, 'todo.oci.tar')
    const out = path.join(root, 'archive-export')
    const r = dynpack(['package', '-t', 'quay.io/acme/todo-backend:1.2.0', '--archive', archive, '--export-to', out, '--json'], { cwd: ex.backend })
    assert.equal(r.status, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.image.archive, true)
    assert.equal(j.image.push[3], `oci-archive:${archive}:${j.image.refName}`)
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${archive}:${j.image.refName}`], { encoding: 'utf8' }))
    assert.equal(inspect.Digest, j.image.manifestDigest)
    assert.equal(inspect.Architecture, 'amd64')
    assert.deepEqual(fs.readdirSync(out).sort(), ['acme-plugin-todo-backend', 'index.json'])
    assert.equal(j.plugins[0].localPackage, './local-plugins/acme-plugin-todo-backend')
    // as the packagers' e2e test asserts: index.json equals the image's metadata
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')),
      JSON.parse(Buffer.from(inspect.Labels['io.backstage.dynamic-packages'], 'base64').toString('utf8')))
  })

  test('directories that are name prefixes of each other are refused in one image', () => {
    const repo = path.join(root, 'mono-prefix')
    const plugin = (name, role) => ({
      [`plugins/${name}/package.json`]: { json: { name: `@acme/${name}`, version: '1.0.0', backstage: { role } } },
      [`plugins/${name}/dist-dynamic/package.json`]: { json: { name: `@acme/${name}-dynamic`, version: '1.0.0', main: 'index.js' } },
      [`plugins/${name}/dist-dynamic/index.js`]: 'module.exports = {}\n',
    })
    writeTree(repo, {
      'package.json': { json: { name: 'r', private: true, workspaces: ['plugins/*'] } },
      ...plugin('plugin-x', 'frontend-plugin'),
      ...plugin('plugin-x-backend', 'backend-plugin'),
    })
    assertFails(dynpack(['package', '-t', 'quay.io/acme/x:1', '--output', 'oci'], { cwd: repo }), 1, 'E_PLUGIN_CONFLICT', /"acme-plugin-x" .* is a prefix of "acme-plugin-x-backend"/)
    assert.equal(fs.existsSync(path.join(repo, 'oci')), false, 'nothing written')
    // --allow-prefix-dirs accepts the pair with a warning on stderr
    const both = dynpack(['package', '-t', 'quay.io/acme/x:1', '--output', 'oci', '--allow-prefix-dirs'], { cwd: repo })
    assert.equal(both.status, 0, both.stderr)
    assert.match(both.stderr, /is a prefix of/)
    assert.match(both.stdout, /!acme-plugin-x\n[\s\S]*!acme-plugin-x-backend\n/)
    // each plugin folder on its own works
    const one = dynpack(['package', '-t', 'quay.io/acme/x:1', '--output', path.join(root, 'prefix-oci'), '-q'], { cwd: path.join(repo, 'plugins/plugin-x') })
    assert.equal(one.status, 0, one.stderr)
    assert.equal(one.stdout, 'plugins:\n  - package: oci://quay.io/acme/x:1!acme-plugin-x\n' +
      `    # package: oci://quay.io/acme/x@${JSON.parse(dynpack(['package', '-t', 'quay.io/acme/x:1', '--output', path.join(root, 'prefix-oci'), '--json'], { cwd: path.join(repo, 'plugins/plugin-x') }).stdout).image.manifestDigest}!acme-plugin-x\n` +
      '    disabled: false\n')
  })

  test('default output: dist-oci next to dist-dynamic', () => {
    const r = dynpack(['package', '-t', 'quay.io/acme/todo:1.2.0', '--json'], { cwd: ex.frontendDistDynamic })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).image.output, path.join(ex.frontend, 'dist-oci'))
    assert.ok(fs.existsSync(path.join(ex.frontend, 'dist-oci', 'index.json')))
  })
})

describe('the printed dynamic-plugins.yaml', () => {
  const tricky = [
    '\uFEFF%YAML 1.2',
    '--- # a start marker and a comment',
    'defaults: &defaults',
    '  retries: 3',
    'todo:',
    '  <<: *defaults',
    '  banner: |',
    '    Line one',
    '',
    '      indented line',
    '  folded: >-',
    '    a',
    '    b',
    "  quoted: 'it''s: # not a comment'",
    '  list: [a, "b c", {d: 1}]',
    '  empty:',
    '   ',
    '...',
    'ignored: second document',
    '',
  ].join('\r\n')

  test('parses with PyYAML, and pluginConfig equals the app-config file', (t) => {
    const skip = needPyYaml()
    if (skip) return t.skip(skip)
    const mk = makeExamples(path.join(root, 'yaml'))
    fs.writeFileSync(path.join(mk.backend, 'app-config.yaml'), tricky)
    const pack = dynpack(['pack', mk.backendDistDynamic, mk.frontendDistDynamic, '--dry-run', '--base-url', 'http://r:8080'])
    assert.equal(pack.status, 0, pack.stderr)
    const exp = dynpack(['package', '--export-to', path.join(root, 'yaml-export')], { cwd: mk.root })
    assert.equal(exp.status, 0, exp.stderr)
    const quiet = dynpack(['package', '--export-to', path.join(root, 'yaml-export'), '-q'], { cwd: mk.root })
    const snippets = [pack.stdout.slice(pack.stdout.indexOf('\n#')), exp.stdout.slice(exp.stdout.indexOf('plugins:\n')), quiet.stdout]
    const [fromPack, fromPackage, fromQuiet, backendConfig, frontendConfig] = pyYaml([...snippets,
      fs.readFileSync(path.join(mk.backend, 'app-config.yaml'), 'utf8').replace(/\n\.\.\.[\s\S]*$/, '\n'),
      fs.readFileSync(path.join(mk.frontend, 'app-config.yaml'), 'utf8')])
    assert.equal(backendConfig.todo.retries, 3, 'the anchor merge worked in the reference parse')
    assert.equal(backendConfig.todo.banner, 'Line one\n\n  indented line\n')
    assert.deepEqual(fromPackage, fromQuiet)
    assert.deepEqual(fromPackage.plugins.map((p) => p.pluginConfig), [backendConfig, frontendConfig])
    assert.deepEqual(fromPackage.plugins.map((p) => p.package), ['./local-plugins/acme-plugin-todo-backend', './local-plugins/acme-plugin-todo-frontend'])
    assert.deepEqual(fromPack.plugins.map((p) => p.pluginConfig), [backendConfig, frontendConfig])
    assert.deepEqual(fromPack.plugins.map((p) => Object.keys(p)), [['package', 'integrity', 'disabled', 'pluginConfig'], ['package', 'integrity', 'disabled', 'pluginConfig']])
    assert.equal(fromPack.plugins[0].disabled, false)
  })

  test('an app-config that is not plain YAML stops package before it leaves an image', () => {
    const mk = makeExamples(path.join(root, 'yaml-refused'))
    fs.writeFileSync(path.join(mk.backend, 'app-config.yaml'), 'a: 1\na: 2\n')
    const output = path.join(root, 'yaml-refused-oci')
    const r = dynpack(['package', '--tag', 'quay.io/acme/todo:1.0.0', '--output', output], { cwd: mk.root })
    assert.equal(r.status, 1, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.match(lines.at(-1), /^dynpack: E_INVALID_APP_CONFIG: .*app-config\.yaml: /)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    assert.equal(fs.existsSync(output) && fs.readdirSync(output).length > 0, false, 'no image left in the output folder')
  })

  test('with an image: by-tag package, by-digest comment', (t) => {
    const skip = needPyYaml()
    if (skip) return t.skip(skip)
    const r = dynpack(['package', '-t', 'quay.io/acme/todo:1.2.0', '--output', path.join(root, 'yaml-oci'), '-q'], { cwd: ex.root })
    assert.equal(r.status, 0, r.stderr)
    const [doc] = pyYaml([r.stdout])
    assert.deepEqual(doc.plugins.map((p) => p.package), ['oci://quay.io/acme/todo:1.2.0!acme-plugin-todo-backend', 'oci://quay.io/acme/todo:1.2.0!acme-plugin-todo-frontend'])
    // uncommenting the digest line gives a valid by-digest entry
    const [pinned] = pyYaml([r.stdout.replace(/^ {4}- package: .*\n/gm, '').replace(/^ {2}- package: .*\n {4}# package: /gm, '  - package: ')])
    for (const p of pinned.plugins) assert.match(p.package, /^oci:\/\/quay\.io\/acme\/todo@sha256:[0-9a-f]{64}!acme-plugin-todo-(backend|frontend)$/)
  })
})

test('the examples are generated the same on every run', () => {
  const a = makeExamples(path.join(root, 'ex-a'))
  const b = makeExamples(path.join(root, 'ex-b'))
  assert.deepEqual(snapshot(a.root), snapshot(b.root))
  assert.equal(fs.readlinkSync(path.join(a.backendDistDynamic, 'node_modules/.bin/todo-comments')), '../todo-comments/bin/cli.js')
})

function escapeRe (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
