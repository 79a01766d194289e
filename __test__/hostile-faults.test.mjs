// Faults while packing: unreadable files (as another user), files that
// change under dynpack, destinations that are files, read-only or full,
// concurrent writers, AbortSignal and Ctrl-C. Every case ends in a whole
// tarball or an error with a stable code, and the destination holds
// afterwards exactly what it held before.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { spawn, spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { tempDir, writeTree, codeLike } from './helpers/tree.mjs'
import {
  api, BIN, isRoot, NOBODY, runUnprivileged, openUp, mountTmpfs, snapshot, tempFiles, packOutcome, randomBytes,
} from './helpers/hostile.mjs'

const { packDynamic, computeIntegrity } = api

let root
let big // a package whose one large file takes seconds to compress
before(() => {
  root = tempDir('dynpack-faults-')
  big = writeTree(path.join(root, 'big-src'), {
    'package.json': { json: { name: 'big', version: '1.0.0' } },
    'big.bin': codeLike(7, 1 << 20).repeat(48),
  })
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

let n = 0
const fresh = (name) => path.join(root, `${name}-${++n}`)
const small = (dir) => writeTree(dir, { 'package.json': { json: { name: 'small', version: '1.0.0' } }, 'index.js': 'module.exports = 1\n' })

/** Resolves once a temporary output file exists in `dir`: the pack is under way. */
async function untilWriting (dir, pending) {
  let done = false
  pending.then(() => { done = true }, () => { done = true })
  while (!done && tempFiles(dir).length === 0) await sleep(2)
  assert.ok(!done, 'the pack finished before it could be interrupted; make the fixture larger')
}

/** A copy of the large package, so that each test may change its file. */
function bigCopy () {
  const dir = fresh('big')
  fs.mkdirSync(dir)
  for (const f of ['package.json', 'big.bin']) fs.copyFileSync(path.join(big, f), path.join(dir, f))
  return dir
}

describe('unreadable inputs (as a user without the permission)', () => {
  /** npm as the same user, for comparison: fails on every case below. */
  function npmAs (dir, home) {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, HOME: home, npm_config_cache: path.join(home, '.npm'), npm_config_update_notifier: 'false' },
      ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    })
    return r.status
  }

  for (const [what, make, culprit] of [
    ['a file', (dir) => fs.chmodSync(path.join(dir, 'secret.js'), 0o000), 'secret.js'],
    ['a folder', (dir) => fs.chmodSync(path.join(dir, 'lib'), 0o000), 'lib'],
    ['an ignore file', (dir) => { fs.writeFileSync(path.join(dir, '.npmignore'), 'x\n'); fs.chmodSync(path.join(dir, '.npmignore'), 0o000) }, '.npmignore'],
  ]) {
    test(`${what}: E_PERMISSION naming it; nothing written; npm fails too`, () => {
      const base = fresh('perm')
      const dir = writeTree(path.join(base, 'pkg'), {
        'package.json': { json: { name: 'perm', version: '1.0.0' } },
        'secret.js': 'secret',
        'lib/a.js': 'a',
      })
      const dest = path.join(base, 'dest')
      const home = path.join(base, 'home')
      fs.mkdirSync(dest)
      fs.mkdirSync(home)
      openUp(root, dir)
      fs.chmodSync(dest, 0o777)
      fs.chmodSync(home, 0o777)
      make(dir)
      const r = runUnprivileged('return await api.packDynamic(args.dir, { destination: args.dest })', { dir, dest })
      assert.equal(r.code, 'E_PERMISSION', JSON.stringify(r))
      assert.match(r.message, new RegExp(`${culprit.replace('.', '\\.')}: Permission denied`))
      assert.deepEqual(fs.readdirSync(dest), [])
      assert.notEqual(npmAs(dir, home), 0)
      fs.chmodSync(path.join(dir, culprit), 0o755)
    })
  }

  test('a destination the user cannot write to: E_DESTINATION, untouched', () => {
    const base = fresh('perm-dest')
    const dir = small(path.join(base, 'pkg'))
    const dest = path.join(base, 'dest')
    writeTree(dest, { 'keep.txt': 'keep' })
    openUp(root, dir)
    openUp(root, dest)
    if (!isRoot) fs.chmodSync(dest, 0o555)
    const before = snapshot(dest)
    const r = runUnprivileged('return await api.packDynamic(args.dir, { destination: args.dest })', { dir, dest })
    assert.equal(r.code, 'E_DESTINATION', JSON.stringify(r))
    assert.match(r.message, /dest: the destination is not a writable folder \(permission denied\)/)
    assert.deepEqual(snapshot(dest), before)
  })
})

describe('files that change while they are packed', () => {
  const change = {
    shrinks: (file) => fs.truncateSync(file, 1 << 20),
    grows: (file) => fs.appendFileSync(file, 'more bytes at the end\n'),
    'is rewritten shorter in place': (file) => fs.writeFileSync(file, 'short'),
  }
  for (const [how, act] of Object.entries(change)) {
    test(`a file that ${how} mid-pack: E_FILE_CHANGED, nothing written`, async () => {
      const dir = bigCopy()
      const dest = fresh('dest')
      fs.mkdirSync(dest)
      const pending = packDynamic(dir, { destination: dest })
      await untilWriting(dest, pending)
      act(path.join(dir, 'big.bin'))
      await assert.rejects(pending, (e) => {
        assert.equal(e.code, 'E_FILE_CHANGED')
        assert.match(e.message, /big\.bin: the file changed while it was being packed/)
        return true
      })
      assert.deepEqual(fs.readdirSync(dest), [])
    })
  }

  for (const [how, act, code] of [
    ['deleted', (file) => fs.rmSync(file), 'E_VANISHED'],
    // renamed over, as editors and build tools replace files: never absent, so never E_VANISHED
    ['replaced by another file', (file) => { fs.writeFileSync(`${file}.new`, 'short'); fs.renameSync(`${file}.new`, file) }, 'E_FILE_CHANGED'],
  ]) {
    test(`a file ${how} mid-pack: ${code}, or (already open) a whole tarball of what was read`, async () => {
      const dir = bigCopy()
      const dest = fresh('dest')
      fs.mkdirSync(dest)
      const pending = packOutcome(dir, { destination: dest })
      await untilWriting(dest, pending)
      act(path.join(dir, 'big.bin'))
      const r = await pending
      checkWholeOrFailed(r, dest, code)
    })
  }
})

/** Either a whole tarball with all 48 MiB of the file, or `code` and an empty destination. */
function checkWholeOrFailed (r, dest, code) {
  if (r.ok) {
    const tar = zlib.gunzipSync(fs.readFileSync(r.ok.path))
    assert.equal(r.ok.files.find((f) => f.path === 'big.bin').size, 48 << 20)
    assert.equal(tar.length % 512, 0)
    assert.deepEqual(fs.readdirSync(dest), [path.basename(r.ok.path)])
  } else {
    assert.equal(r.code, code)
    assert.match(r.message, /big\.bin/)
    assert.deepEqual(fs.readdirSync(dest), [])
  }
}

describe('destinations', () => {
  test('a file, a missing folder: E_DESTINATION, nothing changed', async () => {
    const dir = small(fresh('src'))
    const file = path.join(fresh('d'), 'file.txt')
    fs.mkdirSync(path.dirname(file))
    fs.writeFileSync(file, 'keep')
    await assert.rejects(packDynamic(dir, { destination: file }), (e) => e.code === 'E_DESTINATION' && /file\.txt: .*it is a file/.test(e.message))
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep')
    const missing = path.join(root, 'missing-dest')
    await assert.rejects(packDynamic(dir, { destination: missing }), (e) => e.code === 'E_DESTINATION' && /does not exist/.test(e.message))
    assert.ok(!fs.existsSync(missing))
  })

  test('a destination that runs out of space: E_NO_SPACE; it holds exactly what it held before', async (t) => {
    const m = mountTmpfs(root, '1m')
    if (!m.dir) return t.skip(m.reason) // the sandbox's limit, not dynpack's: skipped even in CI
    try {
      const dir = writeTree(fresh('src'), {
        'package.json': { json: { name: 'full', version: '1.0.0' } },
        'random.bin': randomBytes(3 << 20),
      })
      fs.writeFileSync(path.join(m.dir, 'full-1.0.0.tgz'), 'the previous tarball')
      fs.writeFileSync(path.join(m.dir, 'other.txt'), 'x'.repeat(1000))
      const before = snapshot(m.dir)
      for (const compression of ['npm', 'fast']) {
        await assert.rejects(packDynamic(dir, { destination: m.dir, compression }), (e) => {
          assert.equal(e.code, 'E_NO_SPACE', e.message)
          assert.match(e.message, /No space left on device/)
          return true
        })
        assert.deepEqual(snapshot(m.dir), before)
      }
      const cli = spawnSync(process.execPath, [BIN, 'pack', dir, '--pack-destination', m.dir], { encoding: 'utf8' })
      assert.equal(cli.status, 1)
      assert.match(cli.stderr, /^dynpack: E_NO_SPACE: /m)
      assert.deepEqual(snapshot(m.dir), before)
    } finally {
      m.unmount()
    }
  })

  test('two packs of the same output at once: both whole, the file equals one pack', async () => {
    const dir = writeTree(fresh('src'), {
      'package.json': { json: { name: 'twice', version: '1.0.0' } },
      'lib/a.js': codeLike(1, 2 << 20),
      'lib/b.js': codeLike(2, 2 << 20),
    })
    const dest = fresh('dest')
    fs.mkdirSync(dest)
    const results = await Promise.all([
      packDynamic(dir, { destination: dest }),
      packDynamic(dir, { destination: dest }),
      packDynamic(dir, { destination: dest, compression: 'fast' }),
    ])
    assert.deepEqual(fs.readdirSync(dest), ['twice-1.0.0.tgz'])
    const written = await computeIntegrity(path.join(dest, 'twice-1.0.0.tgz'))
    assert.ok(results.some((r) => r.integrity === written), 'the file is one of the packs, whole')
    assert.equal(results[0].integrity, results[1].integrity)
    zlib.gunzipSync(fs.readFileSync(path.join(dest, 'twice-1.0.0.tgz')))
  })
})

describe('interruptions', () => {
  test('an AbortSignal mid-pack: E_ABORTED (AbortError), nothing left behind', async () => {
    const dest = fresh('dest')
    fs.mkdirSync(dest)
    fs.writeFileSync(path.join(dest, 'big-1.0.0.tgz'), 'previous')
    const before = snapshot(dest)
    const controller = new AbortController()
    const pending = packDynamic(big, { destination: dest, signal: controller.signal })
    await untilWriting(dest, pending)
    controller.abort()
    await assert.rejects(pending, (e) => e.code === 'E_ABORTED' && e.name === 'AbortError')
    assert.deepEqual(snapshot(dest), before)
  })

  test('an AbortSignal after 50 ms, and one already aborted', async () => {
    const dest = fresh('dest')
    fs.mkdirSync(dest)
    await assert.rejects(packDynamic(big, { destination: dest, signal: AbortSignal.timeout(50) }), { code: 'E_ABORTED' })
    await assert.rejects(packDynamic(big, { destination: dest, signal: AbortSignal.abort() }), { code: 'E_ABORTED' })
    await assert.rejects(computeIntegrity(path.join(big, 'big.bin'), { signal: AbortSignal.abort() }), { code: 'E_ABORTED' })
    assert.deepEqual(fs.readdirSync(dest), [])
  })

  for (const signal of ['SIGINT', 'SIGTERM']) {
    test(`CLI: ${signal} (${signal === 'SIGINT' ? 'Ctrl-C' : 'kill'}) mid-pack exits ${signal === 'SIGINT' ? 130 : 143} and leaves nothing`, async () => {
      const dest = fresh('dest')
      fs.mkdirSync(dest)
      const child = spawn(process.execPath, [BIN, 'pack', big, '--pack-destination', dest], { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d) => { stderr += d })
      const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })))
      await untilWriting(dest, exited)
      child.kill(signal)
      const { code } = await exited
      assert.equal(code, signal === 'SIGINT' ? 130 : 143, stderr)
      assert.deepEqual(fs.readdirSync(dest), [])
    })
  }
})
