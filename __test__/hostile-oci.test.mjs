// buildOciLayout on hostile outputs and faults: folders that are not
// layouts, corrupt layouts, invalid tags, full disks, missing permissions,
// aborts and concurrent writers. The output holds afterwards either the new
// image or exactly what it held before. (oci.test.mjs covers the common
// refusals; these are the harsher cases.)
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { tempDir, writeTree, codeLike } from './helpers/tree.mjs'
import { readTar } from './helpers/oci.mjs'
import { api, BIN, mountTmpfs, openUp, runUnprivileged, snapshot, mkfifo, randomBytes } from './helpers/hostile.mjs'

const { buildOciLayout } = api
const TAG = 'quay.io/example/hostile:v1'

let root
let plugin
before(() => {
  root = tempDir('dynpack-oci-hostile-')
  plugin = writeTree(path.join(root, 'plugin'), {
    'package.json': { json: { name: '@example/plugin-hostile-dynamic', version: '1.0.0' } },
    'dist/index.js': 'module.exports = {}\n',
  })
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

let n = 0
const fresh = (name) => path.join(root, `${name}-${++n}`)

/** A layout holding one image, built by dynpack. */
async function existingLayout (dir = fresh('layout')) {
  await buildOciLayout(plugin, { output: dir, tag: 'quay.io/example/hostile:base' })
  return dir
}

/** The ref names the layout's index.json records. */
function refNames (out) {
  const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'))
  return index.manifests.map((d) => d.annotations['org.opencontainers.image.ref.name'])
}

/** Every blob the index reaches is there with its size, and nothing else is. */
function assertWhole (out) {
  const blobs = path.join(out, 'blobs', 'sha256')
  const reached = new Set()
  const visit = (d) => {
    const file = path.join(blobs, d.digest.replace('sha256:', ''))
    assert.equal(fs.statSync(file).size, d.size, d.digest)
    reached.add(path.basename(file))
    if (d.mediaType === 'application/vnd.oci.image.manifest.v1+json') {
      const m = JSON.parse(fs.readFileSync(file, 'utf8'))
      for (const child of [m.config, ...m.layers]) visit(child)
    }
  }
  for (const d of JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')).manifests) visit(d)
  assert.deepEqual(fs.readdirSync(blobs).sort(), [...reached].sort())
}

async function rejectsUntouched (out, options, code, reason) {
  const before = snapshot(out)
  await assert.rejects(buildOciLayout(plugin, { output: out, tag: TAG, ...options }), (e) => {
    assert.equal(e.code, code, e.message)
    if (reason) assert.match(e.message, reason)
    return true
  })
  assert.deepEqual(snapshot(out), before)
}

describe('outputs that are not layouts', () => {
  test('a file: refused, untouched', async () => {
    const file = path.join(fresh('d'), 'image')
    writeTree(path.dirname(file), { image: 'not a layout' })
    await rejectsUntouched(path.dirname(file), {}, 'E_OCI_LAYOUT', /not an OCI image layout/)
    await assert.rejects(buildOciLayout(plugin, { output: file, tag: TAG }), (e) => e.code === 'E_OCI_LAYOUT' && /is a file/.test(e.message))
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a layout')
  })

  for (const [what, files] of [
    ['only a blobs folder', { 'blobs/sha256/x': 'x' }],
    ['an index.json without oci-layout', { 'index.json': '{"schemaVersion":2,"manifests":[]}' }],
    ['a hidden file', { '.keep': '' }],
    ['someone\'s project', { 'package.json': '{}', 'src/index.ts': 'x' }],
  ]) {
    test(`a folder with ${what}: refused, untouched`, async () => {
      await rejectsUntouched(writeTree(fresh('not-layout'), files), {}, 'E_OCI_LAYOUT', /not an OCI image layout/)
    })
  }
})

describe('corrupt layouts: refused with the reason, untouched', () => {
  for (const [what, files, reason] of [
    ['oci-layout is not JSON', { 'oci-layout': 'nope', 'index.json': '{}' }, /oci-layout file is not valid JSON/],
    ['oci-layout without a version', { 'oci-layout': '{}', 'index.json': '{}' }, /imageLayoutVersion \(none\)/],
    ['index.json is an array', { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '[]' }, /not a JSON object/],
    ['index.json schemaVersion 1', { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"schemaVersion":1,"manifests":[]}' }, /schemaVersion 2/],
    ['manifests is not an array', { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"schemaVersion":2,"manifests":{}}' }, /no `manifests` array/],
    ['a descriptor is not an object', { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"schemaVersion":2,"manifests":[1]}' }, /no `manifests` array/],
    ['index.json is truncated', { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': '{"schemaVersion":2,"manif' }, /index.json is not valid JSON/],
    ['index.json is a folder', { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json/x': '' }, /its index\.json is a folder, not a file/],
    ['oci-layout is a folder', { 'oci-layout/x': '', 'index.json': '{"schemaVersion":2,"manifests":[]}' }, /its oci-layout is a folder, not a file/],
  ]) {
    test(what, async () => {
      await rejectsUntouched(writeTree(fresh('corrupt'), files), {}, 'E_OCI_LAYOUT', reason)
    })
  }

  test('index.json is a FIFO: refused without blocking', async () => {
    const out = writeTree(fresh('fifo'), { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' })
    mkfifo(path.join(out, 'index.json'))
    const pending = buildOciLayout(plugin, { output: out, tag: TAG })
    let settled = false
    pending.then(() => { settled = true }, () => { settled = true })
    for (let i = 0; i < 500 && !settled; i++) await sleep(10)
    const blocked = !settled
    if (blocked) fs.writeFileSync(path.join(out, 'index.json'), '{}') // release the blocked read
    const outcome = await pending.then(() => null, (e) => e)
    assert.ok(!blocked, 'buildOciLayout blocked on the FIFO')
    assert.equal(outcome?.code, 'E_OCI_LAYOUT')
    assert.match(outcome.message, /its index\.json is a FIFO, not a file/)
    assert.deepEqual(fs.readdirSync(out).sort(), ['index.json', 'oci-layout'])
  })
})

describe('links and FIFOs where an image is written', () => {
  test('an --archive output that is a FIFO, or a link to one: E_OCI_LAYOUT without blocking, the lock released', async () => {
    const dir = fresh('archive-fifo')
    fs.mkdirSync(dir)
    const fifo = path.join(dir, 'image.tar')
    mkfifo(fifo)
    fs.symlinkSync('image.tar', path.join(dir, 'link.tar'))
    for (const [output, reason] of [[fifo, /is a FIFO/], [path.join(dir, 'link.tar'), /symbolic link/]]) {
      const pending = buildOciLayout(plugin, { output, tag: TAG, archive: true })
      let settled = false
      pending.then(() => { settled = true }, () => { settled = true })
      for (let i = 0; i < 500 && !settled; i++) await sleep(10)
      const blocked = !settled
      if (blocked) fs.writeFileSync(fifo, 'x') // release the blocked open
      const outcome = await pending.then(() => null, (e) => e)
      assert.ok(!blocked, `buildOciLayout blocked on ${output}`)
      assert.equal(outcome?.code, 'E_OCI_LAYOUT')
      assert.match(outcome.message, reason)
    }
    await buildOciLayout(plugin, { output: path.join(dir, 'good.tar'), tag: TAG, archive: true })
    assert.deepEqual(fs.readdirSync(dir).sort(), ['good.tar', 'image.tar', 'link.tar'])
  })

  for (const linked of ['', 'blobs', 'blobs/sha256']) {
    test(`a layout whose ${linked || 'output folder'} is a symbolic link: E_OCI_LAYOUT, nothing written through it`, async () => {
      const elsewhere = fresh('elsewhere')
      fs.mkdirSync(elsewhere)
      let out = fresh('linked')
      if (linked === '') {
        fs.symlinkSync(elsewhere, out)
      } else {
        out = await existingLayout(out)
        fs.rmSync(path.join(out, linked), { recursive: true })
        fs.symlinkSync(elsewhere, path.join(out, linked))
      }
      const before = linked ? snapshot(out) : null
      await assert.rejects(buildOciLayout(plugin, { output: out, tag: TAG }), (e) => e.code === 'E_OCI_LAYOUT' && /symbolic link/.test(e.message))
      assert.deepEqual(fs.readdirSync(elsewhere), [])
      if (before) assert.deepEqual(snapshot(out), before)
    })
  }

  test('an existing blob of the wrong size: E_OCI_LAYOUT naming it, the layout untouched', async () => {
    const out = await existingLayout()
    const { layerDigest } = await buildOciLayout(plugin, { output: fresh('probe'), tag: TAG })
    const blob = path.join(out, 'blobs', 'sha256', layerDigest.replace('sha256:', ''))
    fs.truncateSync(blob, 1)
    const before = snapshot(out)
    await assert.rejects(buildOciLayout(plugin, { output: out, tag: TAG }), (e) => e.code === 'E_OCI_LAYOUT' && e.message.includes(blob))
    assert.deepEqual(snapshot(out), before)
  })
})

describe('plugin folders that are not packages, and names that would leave the image directory', () => {
  const pkgJson = (json) => ({ 'package.json': typeof json === 'string' ? json : { json }, 'dist/index.js': '1' })
  // `nest`: each package in a plugin folder's dist-dynamic/, where `dynpack package` looks for it
  const cases = (nest) => {
    const mk = (name, files) => {
      const dir = fresh(name)
      if (nest) writeTree(dir, { 'package.json': { json: { name: '@example/plugin-case', version: '1.0.0' } } })
      writeTree(nest ? path.join(dir, 'dist-dynamic') : dir, files)
      return { dir, pkgDir: nest ? path.join(dir, 'dist-dynamic') : dir }
    }
    const file = path.join(fresh('file'), 'x.txt')
    writeTree(path.dirname(file), { 'x.txt': 'x' })
    const out = [
      ['a missing folder', path.join(root, 'does-not-exist'), 'E_NOT_FOUND', /does-not-exist: no such folder/],
      ['a file', file, 'E_NOT_A_DIRECTORY', /x\.txt: not a folder/],
      ['no package.json', mk('empty', { 'dist/index.js': '1' }).dir, 'E_NO_PACKAGE_JSON', /empty-\d+(\/dist-dynamic)?: no package\.json/],
      ['invalid JSON', mk('bad', pkgJson('{"name": ')).dir, 'E_INVALID_MANIFEST', /JSON/],
      ['a huge package.json', mk('huge', pkgJson(`{"name":"x","version":"1.0.0","pad":"${'x'.repeat(33 << 20)}"}`)).dir, 'E_INVALID_MANIFEST', /bytes, more than/],
      ['no name', mk('noname', pkgJson({ version: '1.0.0' })).dir, 'E_INVALID_MANIFEST', /name/],
      ['a number as version', mk('numver', pkgJson({ name: 'x-dynamic', version: 1 })).dir, 'E_INVALID_MANIFEST', /version/],
    ]
    const fifo = mk('fifo-json', { 'dist/index.js': '1' })
    mkfifo(path.join(fifo.pkgDir, 'package.json'))
    out.push(['a FIFO package.json', fifo.dir, 'E_INVALID_MANIFEST', /package\.json.* a FIFO, not a regular file/])
    for (const name of ['../../x', '/abs/x', 'a\\b', '@../../y', '@../../../../../y', '..', '@..', '-dynamic', '.hidden', 'x\ny']) {
      out.push([`the name ${JSON.stringify(name)}`, mk('name', pkgJson({ name, version: '1.0.0' })).dir, 'E_INVALID_MANIFEST', /image directory .*unusable/])
    }
    return out
  }

  test('API: the code and the file named, nothing created', async () => {
    for (const [what, dir, code, reason] of cases(false)) {
      const out = fresh('never')
      await assert.rejects(buildOciLayout(dir, { output: out, tag: TAG }), (e) => {
        assert.equal(e.code, code, `${what}: ${e.message}`)
        assert.match(e.message, reason, what)
        return true
      })
      assert.ok(!fs.existsSync(out), what)
    }
  })

  test('CLI package: one line with the code, exit 1, nothing created', () => {
    for (const [what, dir, code, reason] of cases(true)) {
      const out = fresh('never-cli')
      const r = spawnSync(process.execPath, [BIN, 'package', dir, '--tag', TAG, '--output', out], { encoding: 'utf8', timeout: 20_000 })
      assert.equal(r.status, 1, `${what}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`^dynpack: ${code}: `), what)
      assert.match(r.stderr, reason, what)
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`)
      assert.ok(!fs.existsSync(out), what)
    }
  })

  test('CLI package --export-to: refused the same way; nothing written, in the export folder or outside it', () => {
    for (const [what, dir, code, reason] of cases(true)) {
      const sandbox = fresh('export-sandbox')
      const r = spawnSync(process.execPath, [BIN, 'package', dir, '--export-to', path.join(sandbox, 'a', 'b', 'out')], { encoding: 'utf8', timeout: 20_000 })
      assert.equal(r.status, 1, `${what}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`^dynpack: ${code}: `), what)
      assert.match(r.stderr, reason, what)
      assert.ok(!fs.existsSync(sandbox), `${what}: wrote ${fs.existsSync(sandbox) && fs.readdirSync(sandbox, { recursive: true })}`)
    }
    // a plugin whose folder would be the export's own index.json
    const clash = writeTree(fresh('clash'), {
      'package.json': { json: { name: '@example/plugin-clash', version: '1.0.0' } },
      'dist-dynamic/package.json': { json: { name: 'index.json-dynamic', version: '1.0.0' } },
    })
    const out = path.join(fresh('clash-out'), 'out')
    const r = spawnSync(process.execPath, [BIN, 'package', clash, '--export-to', out], { encoding: 'utf8' })
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /^dynpack: E_PLUGIN_CONFLICT: .*clashes with the export's index\.json/m)
    assert.ok(!fs.existsSync(out))
  })
})

test('invalid tags: E_INVALID_TAG, nothing created', async () => {
  for (const tag of ['quay.io/x/y:v1\n', 'quay.io/x/y: v1', `quay.io/x/y:${'v'.repeat(200)}`, 'quay.io/../y:v1', 'quay.io/x/y:v1:v2',
    'quay.io//y:v1', 'quay.io/X/y:v1', 'quay.io/x/y:-v1', '/x/y:v1', 'quay.io/x/y:v1/../../z', 'quay.io/x/y:\u00e9']) {
    const out = fresh('tag')
    await assert.rejects(buildOciLayout(plugin, { output: out, tag }), { code: 'E_INVALID_TAG' }, JSON.stringify(tag))
    assert.ok(!fs.existsSync(out), JSON.stringify(tag))
  }
})

describe('faults', () => {
  test('a full disk: E_NO_SPACE; an existing layout keeps exactly what it had', async (t) => {
    const m = mountTmpfs(root, '2m')
    if (!m.dir) return t.skip(m.reason) // the sandbox's limit, not dynpack's: skipped even in CI
    try {
      const out = await existingLayout(path.join(m.dir, 'layout'))
      const before = snapshot(out)
      const heavy = writeTree(fresh('heavy'), {
        'package.json': { json: { name: '@example/heavy-dynamic', version: '1.0.0' } },
        'blob.bin': randomBytes(3 << 20),
      })
      await assert.rejects(buildOciLayout(heavy, { output: out, tag: TAG, compressionLevel: 1 }), (e) => e.code === 'E_NO_SPACE' && /No space left/.test(e.message))
      assert.deepEqual(snapshot(out), before)
      // an archive as well
      await assert.rejects(buildOciLayout(heavy, { output: path.join(m.dir, 'image.tar'), tag: TAG, archive: true }), { code: 'E_NO_SPACE' })
      assert.deepEqual(fs.readdirSync(m.dir), ['layout'])
    } finally {
      m.unmount()
    }
  })

  test('a layout the user may not write: refused, untouched', async () => {
    const out = await existingLayout()
    openUp(root, out)
    const before = snapshot(out)
    const r = runUnprivileged('return await api.buildOciLayout(args.plugin, { output: args.out, tag: args.tag })', { plugin, out, tag: TAG })
    assert.ok(['E_PERMISSION', 'E_DESTINATION'].includes(r.code), JSON.stringify(r))
    assert.match(r.message, /layout/)
    assert.deepEqual(snapshot(out), before)
  })

  test('an AbortSignal mid-build: E_ABORTED; the layout keeps exactly what it had', async () => {
    const out = await existingLayout()
    const heavy = writeTree(fresh('heavy'), {
      'package.json': { json: { name: '@example/heavy-dynamic', version: '1.0.0' } },
      'big.js': codeLike(3, 1 << 20).repeat(48),
    })
    const before = snapshot(out)
    const controller = new AbortController()
    const pending = buildOciLayout(heavy, { output: out, tag: TAG, signal: controller.signal, compressionLevel: 9 })
    let done = false
    pending.then(() => { done = true }, () => { done = true })
    const blobs = path.join(out, 'blobs', 'sha256')
    while (!done && !fs.readdirSync(blobs).some((f) => f.endsWith('.dynpack-tmp'))) await sleep(2)
    assert.ok(!done, 'finished before it could be aborted')
    controller.abort()
    await assert.rejects(pending, (e) => e.code === 'E_ABORTED' && e.name === 'AbortError')
    assert.deepEqual(snapshot(out), before)
  })

  test('CLI package: a bad tag, a folder that is not a layout, Ctrl-C mid-build: one line, exit 1 or 130, untouched', async () => {
    const cli = (args) => spawnSync(process.execPath, [BIN, 'package', plugin, ...args], { encoding: 'utf8' })
    let r = cli(['--tag', 'image:v1', '--output', fresh('cli-layout')])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /^dynpack: E_INVALID_TAG: /m)
    const notLayout = writeTree(fresh('cli-not-layout'), { 'keep.txt': 'mine' })
    r = cli(['--tag', TAG, '--output', notLayout])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /^dynpack: E_OCI_LAYOUT: .*not an OCI image layout/m)
    assert.deepEqual(fs.readdirSync(notLayout), ['keep.txt'])

    const out = await existingLayout()
    const heavy = writeTree(fresh('heavy-cli'), {
      'package.json': { json: { name: '@example/heavy-dynamic', version: '1.0.0' } },
      'big.js': codeLike(4, 1 << 20).repeat(48),
    })
    const before = snapshot(out)
    const child = spawn(process.execPath, [BIN, 'package', heavy, '--tag', TAG, '--output', out], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    let done = false
    exited.then(() => { done = true })
    const blobs = path.join(out, 'blobs', 'sha256')
    while (!done && !fs.readdirSync(blobs).some((f) => f.endsWith('.dynpack-tmp'))) await sleep(2)
    assert.ok(!done, 'finished before it could be interrupted')
    child.kill('SIGINT')
    assert.equal(await exited, 130)
    assert.deepEqual(snapshot(out), before)
  })

  test('builds of different tags into one layout at once: every build succeeds, every tag recorded', async () => {
    const out = await existingLayout()
    const tags = Array.from({ length: 4 }, (_, i) => `quay.io/example/hostile:t${i}`)
    await Promise.all(tags.map((tag) => buildOciLayout(plugin, { output: out, tag })))
    assert.deepEqual(refNames(out).sort(), ['base', 't0', 't1', 't2', 't3'])
    assertWhole(out)
  })

  test('CLI processes building into one new layout at once: all exit 0, every tag recorded', async () => {
    const out = fresh('race-new')
    const runs = Array.from({ length: 4 }, (_, i) => new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, 'package', plugin, '--tag', `quay.io/example/hostile:p${i}`, '--output', out], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (d) => { stderr += d })
      child.on('exit', (code) => resolve({ code, stderr }))
    }))
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(refNames(out).sort(), ['p0', 'p1', 'p2', 'p3'])
    assertWhole(out)
  })

  test('builds into one oci-archive at once: every tag in the archive', async () => {
    const out = path.join(fresh('race-archive'), 'image.tar')
    fs.mkdirSync(path.dirname(out))
    const tags = Array.from({ length: 3 }, (_, i) => `quay.io/example/hostile:a${i}`)
    await Promise.all(tags.map((tag) => buildOciLayout(plugin, { output: out, tag, archive: true })))
    const index = readTar(fs.readFileSync(out)).find((e) => e.path === 'index.json')
    const names = JSON.parse(index.data).manifests.map((d) => d.annotations['org.opencontainers.image.ref.name'])
    assert.deepEqual(names.sort(), ['a0', 'a1', 'a2'])
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['image.tar'])
  })

  test('a build aborted while it waits for another: E_ABORTED; the other lands whole', async () => {
    const out = await existingLayout()
    const heavy = writeTree(fresh('heavy-wait'), {
      'package.json': { json: { name: '@example/heavy-dynamic', version: '1.0.0' } },
      'big.js': codeLike(5, 1 << 20).repeat(24),
    })
    const first = buildOciLayout(heavy, { output: out, tag: 'quay.io/example/hostile:first', compressionLevel: 9 })
    const blobs = path.join(out, 'blobs', 'sha256')
    while (!fs.readdirSync(blobs).some((f) => f.endsWith('.dynpack-tmp'))) await sleep(2) // the first holds the lock
    const controller = new AbortController()
    const waiting = buildOciLayout(plugin, { output: out, tag: 'quay.io/example/hostile:waiting', signal: controller.signal })
    await sleep(50)
    controller.abort()
    await assert.rejects(waiting, { code: 'E_ABORTED' })
    await first
    assert.deepEqual(refNames(out).sort(), ['base', 'first'])
    assertWhole(out)
  })

})
