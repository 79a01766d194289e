// On a terminal: --source-date-epoch, a registry that does not answer,
// live progress (a pseudo-terminal vs a pipe) and the API's onProgress.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { spawnSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tempDir } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.join(here, '..', 'bin', 'dynpack.js')
const { makeExamples } = require('../examples/make-examples.js')
const api = require('../lib/api.js')

function dynpack (args, { cwd, env } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: env ?? process.env, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Like dynpack() but without blocking the event loop (a server in this process must answer). */
function dynpackAsync (args, { cwd, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: env ?? process.env })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** `false` when util-linux `script` (a pseudo-terminal) runs; else the reason to skip, or a failure under CI. */
function needScript () {
  if (spawnSync('script', ['--version']).status === 0) return false
  if (process.env.CI === 'true') throw new Error('script (bsdutils) is required in CI but is not installed')
  return 'script (util-linux, Debian package bsdutils) is not installed'
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers. */
async function silentServer () {
  const sockets = new Set()
  const server = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    port: server.address().port,
    close: () => { for (const s of sockets) s.destroy(); server.close() },
  }
}

let root
let ex
before(() => {
  root = tempDir('dynpack-terminal-')
  ex = makeExamples(path.join(root, 'examples'))
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

describe('package --source-date-epoch', () => {
  test('sets the image timestamps as SOURCE_DATE_EPOCH and sourceDateEpoch do', async () => {
    const out = path.join(root, 'sde')
    const r = dynpack(['package', '--tag', 'quay.io/acme/p:1', '--output', out, '--source-date-epoch', '1700000000', '--json'], { cwd: ex.root })
    assert.equal(r.status, 0, r.stderr)
    // `package` adds the source digest annotation (io.dynpack.source.digest); with it, the API builds the same image
    const sourceDigest = JSON.parse(r.stdout).images[0].sourceDigest
    const viaApi = await api.buildOciLayout([ex.backendDistDynamic, ex.frontendDistDynamic],
      {
        output: path.join(root, 'sde-api'),
        tag: 'quay.io/acme/p:1',
        sourceDateEpoch: 1700000000,
        annotations: { 'io.dynpack.source.digest': sourceDigest },
        // and, from the epoch, the labels CI pipelines read
        labels: { 'org.opencontainers.image.created': '2023-11-14T22:13:20Z', 'build-date': '2023-11-14T22:13:20Z' },
      })
    assert.equal(JSON.parse(r.stdout).image.manifestDigest, viaApi.manifestDigest)
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }
    const viaEnv = dynpack(['package', '--tag', 'quay.io/acme/p:1', '--output', path.join(root, 'sde-env'), '--json'], { cwd: ex.root, env })
    assert.equal(JSON.parse(viaEnv.stdout).image.manifestDigest, viaApi.manifestDigest)
    const zero = dynpack(['package', '--tag', 'quay.io/acme/p:1', '--output', path.join(root, 'sde-0'), '--json'], { cwd: ex.root })
    assert.notEqual(JSON.parse(zero.stdout).image.manifestDigest, viaApi.manifestDigest)
    const bad = dynpack(['package', '--tag', 'quay.io/acme/p:1', '--source-date-epoch', 'yesterday'], { cwd: ex.root })
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /^dynpack: E_USAGE: --source-date-epoch "yesterday": expected whole seconds since 1970/m)
  })
})

describe('publish to a registry that does not answer', () => {
  let server
  let userconfig
  before(async () => {
    server = await silentServer()
    userconfig = path.join(root, 'npmrc')
    fs.writeFileSync(userconfig, `//127.0.0.1:${server.port}/:_authToken=test-token\n`)
  })
  after(() => server.close())

  test('publishDynamic says what it waits for, then gives up with E_PUBLISH_TIMEOUT', async () => {
    const waits = []
    const started = Date.now()
    await assert.rejects(api.publishDynamic(ex.backend, {
      registry: server.url,
      tag: 'latest',
      timeout: 2500,
      env: { ...process.env, NPM_CONFIG_USERCONFIG: userconfig },
      onWait: (w) => waits.push(w),
    }), (e) => {
      assert.equal(e.code, 'E_PUBLISH_TIMEOUT')
      assert.match(e.message, /did not answer `npm publish` within 2\.5 s; check that the registry is up/)
      assert.ok(!e.message.includes('test-token'))
      return true
    })
    assert.ok(Date.now() - started < 20_000, 'bounded')
    assert.deepEqual(waits, [{
      package: '@acme/plugin-todo-backend-dynamic@1.2.0',
      registry: server.url,
      waitingFor: `${server.url} to answer \`npm publish\``,
      timeout: 2500,
    }])
  })

  test('dynpack publish --timeout prints the wait note and exits 1', async () => {
    const r = await dynpackAsync(['publish', '--registry', server.url, '--tag', 'latest', '--timeout', '3'],
      { cwd: ex.frontend, env: { ...process.env, NPM_CONFIG_USERCONFIG: userconfig } })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /^dynpack: @acme\/plugin-todo-frontend-dynamic@1\.2\.0: waiting for http:\/\/127\.0\.0\.1:\d+\/ to answer `npm publish` \(giving up after 3 s\)$/m)
    assert.match(r.stderr, /^dynpack: E_PUBLISH_TIMEOUT: /m)
    const bad = dynpack(['publish', '--timeout', 'soon'], { cwd: ex.frontend })
    assert.equal(bad.status, 2)
  })
})

/** A plugin whose packing takes long enough for several progress samples: `files` incompressible files. */
function bigPlugin (dir, files = 600, size = 32 * 1024) {
  const dd = path.join(dir, 'dist-dynamic')
  fs.mkdirSync(path.join(dd, 'dist'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@acme/plugin-big', version: '1.0.0', backstage: { role: 'backend-plugin' } }))
  fs.writeFileSync(path.join(dd, 'package.json'), JSON.stringify({ name: '@acme/plugin-big-dynamic', version: '1.0.0', main: 'dist/index.js' }))
  let x = 0x9e3779b9
  for (let i = 0; i < files; i++) {
    const b = Buffer.alloc(size)
    for (let j = 0; j < size; j += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b.writeUInt32LE(x >>> 0, j) }
    fs.writeFileSync(path.join(dd, 'dist', `chunk-${String(i).padStart(4, '0')}.js`), b)
  }
  return dd
}

describe('live progress', () => {
  let big
  before(() => { big = bigPlugin(path.join(root, 'big')) })

  function checkEvents (events, result, dir) {
    assert.ok(events.length >= 1)
    for (const [i, e] of events.entries()) {
      assert.deepEqual(Object.keys(e), ['dir', 'filesDone', 'filesTotal', 'bytesDone', 'bytesTotal', 'elapsedMs', 'done'])
      assert.equal(e.dir, dir)
      assert.ok(e.filesDone <= e.filesTotal && e.bytesDone <= e.bytesTotal, JSON.stringify(e))
      if (i > 0) {
        const p = events[i - 1]
        for (const k of ['filesDone', 'bytesDone', 'elapsedMs']) assert.ok(e[k] >= p[k], `${k} is monotonic`)
        assert.equal(e.filesTotal, p.filesTotal)
        assert.equal(e.bytesTotal, p.bytesTotal)
      }
      assert.equal(e.done, i === events.length - 1)
    }
    const last = events.at(-1)
    assert.equal(last.filesDone, last.filesTotal)
    assert.equal(last.bytesDone, last.bytesTotal)
    return last
  }

  test('packDynamic onProgress: monotonic events, the last one equals the totals of the result', async () => {
    const events = []
    const r = await api.packDynamic(big, { dryRun: true, onProgress: (e) => events.push(e) })
    const last = checkEvents(events, r, big)
    assert.equal(last.filesTotal, r.entryCount)
    assert.equal(last.bytesTotal, r.unpackedSize)
    // the worker is never blocked by sampling: events come at most every ~100 ms
    for (let i = 1; i < events.length - 1; i++) assert.ok(events[i].elapsedMs - events[i - 1].elapsedMs >= 90)
    // a throwing callback rejects the call with its error
    await assert.rejects(api.packDynamic(big, { dryRun: true, onProgress: () => { throw new Error('stop') } }), /stop/)
  })

  test('buildOciLayout onProgress counts the plugin files of the layer', async () => {
    const events = []
    const out = path.join(root, 'big-oci')
    const r = await api.buildOciLayout(big, { output: out, tag: 'quay.io/acme/big:1', onProgress: (e) => events.push(e) })
    const last = checkEvents(events, r, out)
    assert.equal(last.filesTotal, r.plugins[0].files ?? last.filesTotal)
    assert.ok(last.filesTotal >= 600)
  })

  test('dynpack pack and package draw a live line on a terminal, nothing when piped or --quiet', { skip: needScript() }, () => {
    const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`
    const tty = (args) => spawnSync('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } })
    const packed = tty(['pack', path.dirname(big), '--dry-run'])
    assert.equal(packed.status, 0, packed.stdout)
    assert.match(packed.stdout, /\r\x1b\[Kdynpack: \d+\/601 files, [\d.]+ [kM]B\/19\.\d MB \([\d.]+ [kMG]?B\/s\) big/)
    assert.match(packed.stdout, /\r\x1b\[K(dynpack: packed|acme-plugin-big)/, 'the line is cleared before other output')
    const image = tty(['package', path.dirname(big), '--tag', 'quay.io/acme/big:2', '--output', path.join(root, 'big-oci-2')])
    assert.equal(image.status, 0, image.stdout)
    assert.match(image.stdout, /\r\x1b\[Kdynpack: \d+\/60\d files, .* 1 plugin -> \S+/)
    const quiet = tty(['pack', path.dirname(big), '--dry-run', '--quiet'])
    assert.doesNotMatch(quiet.stdout, /\x1b\[K|files/)
    const piped = dynpack(['pack', path.dirname(big), '--dry-run'])
    assert.equal(piped.status, 0)
    assert.equal(piped.stderr.replace(/^dynpack: using .*\n/, '').replace(/^dynpack: acme-plugin-big-dynamic-1\.0\.0\.tgz {2}integrity: sha512-\S+\n/, ''), '')
  })

  test('on an 80-column terminal the figures come first and a long path is shortened to fit', { skip: needScript() }, () => {
    const long = path.join(root, 'a-rather-long-folder-name-for-the-checkout', 'with-nested-workspaces', 'and-one-more-level', 'the-plugin')
    bigPlugin(long)
    const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`
    const command = `stty cols 80 rows 24; exec ${[process.execPath, BIN, 'pack', long, '--dry-run'].map(quote).join(' ')}`
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: root, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout)
    const drawn = r.stdout.split('\r\x1b[K').map((l) => l.split(/\r?\n/)[0]).filter((l) => /^dynpack: \d+\/\d+ files, /.test(l))
    assert.ok(drawn.length >= 1, r.stdout)
    for (const l of drawn) {
      assert.ok(l.length <= 79, `fits in 80 columns: ${JSON.stringify(l)}`)
      assert.match(l, /^dynpack: \d+\/601 files, [\d.]+ [kM]?B\/19\.\d MB( done)? \([\d.]+ [kMG]?B\/s\) …\S*-level\/the-plugin$/)
    }
  })
})
