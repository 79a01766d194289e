// computeIntegrity / verifyIntegrity against node:crypto, on files and Buffers.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { tempDir } from './helpers/tree.mjs'

const require = createRequire(import.meta.url)
const { computeIntegrity, verifyIntegrity } = require('../lib/api.js')

const sri = (algo, data) => `${algo}-${crypto.createHash(algo).update(data).digest('base64')}`

let root
const inputs = {}
before(() => {
  root = tempDir('dynpack-sri-')
  const sizes = { empty: 0, one: 1, small: 1000, block: 4 << 20, odd: (9 << 20) + 12345 }
  for (const [name, size] of Object.entries(sizes)) {
    const data = crypto.randomBytes(size)
    const file = path.join(root, name)
    fs.writeFileSync(file, data)
    inputs[name] = { data, file }
  }
})
after(() => fs.rmSync(root, { recursive: true, force: true }))

test('sha512 of files and buffers equals node:crypto', async () => {
  for (const { data, file } of Object.values(inputs)) {
    const expected = sri('sha512', data)
    assert.equal(await computeIntegrity(file), expected)
    assert.equal(await computeIntegrity(data), expected)
  }
})

test('several algorithms give a space-separated SRI in the order asked', async () => {
  const { data, file } = inputs.odd
  const algos = ['sha256', 'sha1', 'sha384', 'sha512']
  const expected = algos.map((a) => sri(a, data)).join(' ')
  assert.equal(await computeIntegrity(file, { algorithms: algos }), expected)
  assert.equal(await computeIntegrity(data, { algorithms: algos }), expected)
})

test('many inputs hashed in parallel', async () => {
  const all = Object.values(inputs)
  const results = await Promise.all(all.map(({ file }) => computeIntegrity(file)))
  assert.deepEqual(results, all.map(({ data }) => sri('sha512', data)))
})

test('verifyIntegrity: match, mismatch, strongest algorithm, options', async () => {
  const { data, file } = inputs.small
  assert.equal(await verifyIntegrity(file, sri('sha512', data)), true)
  assert.equal(await verifyIntegrity(data, sri('sha256', data)), true)
  assert.equal(await verifyIntegrity(inputs.empty.file, sri('sha512', Buffer.alloc(0))), true)
  assert.equal(await verifyIntegrity(file, sri('sha512', Buffer.from('other'))), false)
  // ssri uses only the strongest algorithm listed: a wrong sha1 next to a right sha512 passes,
  // a right sha1 next to a wrong sha512 does not.
  assert.equal(await verifyIntegrity(data, `${sri('sha1', 'x')} ${sri('sha512', data)}`), true)
  assert.equal(await verifyIntegrity(data, `${sri('sha1', data)} ${sri('sha512', 'x')}`), false)
  assert.equal(await verifyIntegrity(data, `${sri('sha512', data)}?foo?bar`), true)
  assert.equal(await verifyIntegrity(data, `  junk ${sri('sha384', data)}\n`), true)
})

test('malformed SRI strings and bad inputs reject with codes', async () => {
  const { file } = inputs.small
  await assert.rejects(verifyIntegrity(file, ''), { code: 'E_INVALID_SRI' })
  await assert.rejects(verifyIntegrity(file, 'not an sri'), { code: 'E_INVALID_SRI' })
  await assert.rejects(verifyIntegrity(file, 'sha512-@@@@'), { code: 'E_INVALID_SRI' })
  await assert.rejects(verifyIntegrity(file, 'md5-1B2M2Y8AsgTpgAmY7PhCfg=='), { code: 'E_UNKNOWN_ALGORITHM' })
  await assert.rejects(computeIntegrity(file, { algorithms: ['md5'] }), { code: 'E_UNKNOWN_ALGORITHM' })
  await assert.rejects(computeIntegrity(path.join(root, 'missing')), { code: 'E_NOT_FOUND' })
  await assert.rejects(computeIntegrity(root), { code: 'E_NOT_A_FILE' })
  await assert.rejects(computeIntegrity(42), { code: 'E_INVALID_OPTION' })
})

test('computeIntegrity honours its AbortSignal mid-way: E_ABORTED, for a file and for a Buffer', async () => {
  // A 4 GiB sparse file and a 256 MiB Buffer hashed with every algorithm
  // take seconds; the signal fires a few milliseconds in.
  const big = path.join(root, 'sparse-4g')
  fs.closeSync(fs.openSync(big, 'w'))
  fs.truncateSync(big, 4 * 2 ** 30)
  const buffer = Buffer.alloc(256 << 20)
  const algorithms = ['sha512', 'sha384', 'sha256', 'sha1']
  for (const input of [big, buffer]) {
    const controller = new AbortController()
    const pending = computeIntegrity(input, { algorithms, signal: controller.signal })
    setTimeout(() => controller.abort(), 5)
    await assert.rejects(pending, (e) => e.code === 'E_ABORTED' && e.name === 'AbortError')
  }
  fs.rmSync(big)
})
