// Differential tests: packDynamic against the real `npm pack --json --ignore-scripts`.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'
import { tempDir, npmPack } from './helpers/tree.mjs'
import { fixtures } from './helpers/fixtures.mjs'

const require = createRequire(import.meta.url)
const { packDynamic } = require('../lib/api.js')

let root
before(() => { root = tempDir('dynpack-pack-') })
after(() => fs.rmSync(root, { recursive: true, force: true }))

describe('packDynamic matches npm pack byte for byte', () => {
  for (const [name, build] of Object.entries(fixtures)) {
    test(name, async () => {
      const dir = build(path.join(root, name))
      const npmDest = path.join(root, name + '-npm')
      const ourDest = path.join(root, name + '-dynpack')
      fs.mkdirSync(ourDest)
      const expected = npmPack(dir, npmDest)
      const actual = await packDynamic(dir, { destination: ourDest })

      const npmFile = path.join(npmDest, fs.readdirSync(npmDest)[0])
      assert.equal(path.basename(actual.path), path.basename(npmFile), 'file name')
      const npmBytes = fs.readFileSync(npmFile)
      const ourBytes = fs.readFileSync(actual.path)
      // Compare the tar first: a difference there is easier to read than one in gzip bytes.
      const npmTar = zlib.gunzipSync(npmBytes)
      const ourTar = zlib.gunzipSync(ourBytes)
      if (!npmTar.equals(ourTar)) {
        const at = npmTar.findIndex((b, i) => b !== ourTar[i])
        assert.fail(`tar differs at byte ${at} (block ${Math.floor(at / 512)}): ` +
          `npm ${JSON.stringify(npmTar.subarray(at - at % 512, at - at % 512 + 100).toString('latin1'))} ` +
          `dynpack ${JSON.stringify(ourTar.subarray(at - at % 512, at - at % 512 + 100).toString('latin1'))}`)
      }
      assert.ok(ourBytes.equals(npmBytes), 'tgz bytes')

      const { path: written, ...report } = actual
      assert.deepEqual(report, expected)
      assert.deepEqual(Object.keys(report), Object.keys(expected), 'key order')
      assert.equal(written, path.join(ourDest, path.basename(npmFile)))
    })
  }
})

test('dryRun writes nothing and reports the same object', async () => {
  const dir = fixtures.frontendDistDynamic(path.join(root, 'dry'))
  const dest = path.join(root, 'dry-dest')
  fs.mkdirSync(dest)
  const dry = await packDynamic(dir, { destination: dest, dryRun: true })
  assert.deepEqual(fs.readdirSync(dest), [])
  assert.equal(dry.path, undefined)
  const real = await packDynamic(dir, { destination: dest })
  const { path: _p, ...rest } = real
  assert.deepEqual(dry, rest)
})

test('destination defaults to the current directory', async () => {
  const dir = fixtures.gitignoreOnly(path.join(root, 'cwd'))
  const cwd = process.cwd()
  const dest = path.join(root, 'cwd-dest')
  fs.mkdirSync(dest)
  process.chdir(dest)
  try {
    const r = await packDynamic(dir)
    assert.equal(r.path, path.join(dest, 'gitonly-0.0.1.tgz'))
    assert.ok(fs.existsSync(r.path))
  } finally {
    process.chdir(cwd)
  }
})

test("compression 'fast' gives the same tar in a valid gzip, deterministically", async () => {
  const dir = fixtures.backendDistDynamic(path.join(root, 'fast'))
  const a = path.join(root, 'fast-a')
  const b = path.join(root, 'fast-b')
  fs.mkdirSync(a); fs.mkdirSync(b)
  const npm = await packDynamic(dir, { destination: a })
  const fast = await packDynamic(dir, { destination: b, compression: 'fast' })
  assert.ok(zlib.gunzipSync(fs.readFileSync(fast.path)).equals(zlib.gunzipSync(fs.readFileSync(npm.path))))
  const again = await packDynamic(dir, { dryRun: true, compression: 'fast' })
  assert.equal(again.integrity, fast.integrity)
  assert.deepEqual(fast.files, npm.files)
})

test('errors carry stable codes', async () => {
  await assert.rejects(packDynamic(path.join(root, 'nope')), { code: 'E_NOT_FOUND' })
  const file = path.join(root, 'a-file')
  fs.writeFileSync(file, 'x')
  await assert.rejects(packDynamic(file), { code: 'E_NOT_A_DIRECTORY' })
  const empty = path.join(root, 'empty')
  fs.mkdirSync(empty)
  await assert.rejects(packDynamic(empty), { code: 'E_NO_PACKAGE_JSON' })
  fs.writeFileSync(path.join(empty, 'package.json'), '{"name": "x",')
  await assert.rejects(packDynamic(empty), (e) => e.code === 'E_INVALID_MANIFEST' && e.message.includes('package.json'))
  fs.writeFileSync(path.join(empty, 'package.json'), '{"name": "x"}')
  await assert.rejects(packDynamic(empty), { code: 'E_INVALID_MANIFEST', message: /version/ })
  await assert.rejects(packDynamic(empty, { compression: 'zstd' }), { code: 'E_INVALID_OPTION' })
  await assert.rejects(packDynamic(42), { code: 'E_INVALID_OPTION' })
})
