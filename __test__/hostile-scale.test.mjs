// Packages at the edges of scale, compared with the real `npm pack`:
// 100,000 files, 200 levels of folders, a sparse file over 8 GiB. Each
// takes npm tens of seconds, so the folders are generated once here.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { tempDir, writeTree } from './helpers/tree.mjs'
import { api, npmOutcome, tempFiles } from './helpers/hostile.mjs'

const { packDynamic } = api

let root
before(() => { root = tempDir('dynpack-scale-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))

/** Packs with both tools; asserts the same report and the same tgz bytes. */
async function assertSameAsNpm (dir, name) {
  const npmDest = path.join(root, `${name}-npm`)
  const ourDest = path.join(root, `${name}-dynpack`)
  fs.mkdirSync(ourDest)
  const npm = npmOutcome(dir, npmDest)
  assert.ok(npm.ok, `npm pack failed: ${npm.error}`)
  const ours = await packDynamic(dir, { destination: ourDest })
  const { path: written, ...report } = ours
  assert.deepEqual(report, npm.ok)
  assert.ok(fs.readFileSync(written).equals(fs.readFileSync(npm.file)), 'the same tgz bytes')
  assert.deepEqual(tempFiles(ourDest), [])
  return ours
}

test('100,000 files: the same bytes as npm', async () => {
  const dir = writeTree(path.join(root, 'many'), { 'package.json': { json: { name: 'many', version: '1.0.0' } } })
  for (let d = 0; d < 100; d++) {
    const sub = path.join(dir, 'lib', `d${d}`)
    fs.mkdirSync(sub, { recursive: true })
    for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(sub, `f${f}.js`), `module.exports = ${d * 1000 + f}\n`)
  }
  const r = await assertSameAsNpm(dir, 'many')
  assert.equal(r.entryCount, 100_001)
})

test('200 levels of folders: the same bytes as npm', async () => {
  const deep = Array.from({ length: 200 }, (_, i) => `level-${i}`).join('/')
  const dir = writeTree(path.join(root, 'deep'), {
    'package.json': { json: { name: 'deep', version: '1.0.0' } },
    [`${deep}/leaf.js`]: 'leaf\n',
    [`${deep.split('/').slice(0, 100).join('/')}/middle.js`]: 'middle\n',
  })
  const r = await assertSameAsNpm(dir, 'deep')
  assert.ok(r.files.some((f) => f.path === `${deep}/leaf.js`))
})

test('a sparse file over 8 GiB: the bytes npm writes (npm then fails reading its own tarball back)', async () => {
  const dir = writeTree(path.join(root, 'sparse'), { 'package.json': { json: { name: 'sparse', version: '1.0.0' } } })
  const size = 8 * 1024 ** 3 + 4096 // past the 11-digit octal size field: base-256 and a PAX size
  fs.writeFileSync(path.join(dir, 'big.bin'), '')
  fs.truncateSync(path.join(dir, 'big.bin'), size)
  const npmDest = path.join(root, 'sparse-npm')
  const npm = npmOutcome(dir, npmDest)
  // npm 11.19.1 writes the tgz, then reads it back for its report, which fails: on Node 20 gunzipping
  // it into one Buffer over 4 GiB, on Node 22+ at node-tar's decompression-ratio guard first.
  assert.match(npm.error ?? '', /Cannot create a Buffer larger than|max decompression ratio exceeded/, 'npm still fails here; if it packs now, compare its report too')
  const ourDest = path.join(root, 'sparse-dynpack')
  fs.mkdirSync(ourDest)
  const r = await packDynamic(dir, { destination: ourDest })
  assert.equal(r.files.find((f) => f.path === 'big.bin').size, size)
  assert.ok(fs.readFileSync(r.path).equals(fs.readFileSync(path.join(npmDest, 'sparse-1.0.0.tgz'))), 'the same tgz bytes')
})
