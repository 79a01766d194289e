// The exact parallel gzip's parse round trip (issue 23) against the zlib of
// the Node running the tests: Node's own `deflateRawSync` at level 9 is what
// npm's tarballs hold, so decoding it into a parse and re-encoding that parse
// (src/gzip/trees.rs) must give the very same bytes. Run it under each Node
// line (`npm run test:node -- 22 __test__/gzip-trees.test.mjs`): their
// Chromium zlib revisions differ.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { exactDeflateRoundTrip } = require('../index.js')

function rng (seed) {
  let s = seed >>> 0 || 1
  return (n) => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s % n
  }
}

const WORDS = ['const ', 'function ', 'return ', 'import ', 'export default ', '=> ', '{\n', '}\n', '(', ')', ';\n',
  "require('", "')", 'module.exports', ' = ', 'await ', 'if (', 'null', 'true', '  ', 'props', '@backstage/core', 'React']

function input (rand, max) {
  const len = rand(max + 1)
  const out = Buffer.alloc(len)
  let at = 0
  while (at < len) {
    const n = Math.min(len - at, rand(Math.floor(len / 2) + 2) + 1)
    const kind = rand(6)
    for (let i = 0; i < n; i++) {
      if (kind === 0) out[at + i] = rand(256)
      else if (kind === 1) out[at + i] = 97 + rand(4)
      else if (kind === 2) out[at + i] = 32
      else if (kind === 3 && at + i > 1000 && rand(4) > 0) out[at + i] = out[at + i - 1 - rand(Math.min(at + i - 1, 40000))]
      else if (kind === 4) out[at + i] = (i % 37) ^ (rand(20) === 0 ? 1 : 0)
      else out[at + i] = 0
    }
    if (kind === 5) out.write(Array.from({ length: n }, () => WORDS[rand(WORDS.length)]).join('').slice(0, n), at, 'latin1')
    at += n
  }
  return out
}

function check (data, stats) {
  const r = exactDeflateRoundTrip(data)
  stats.inputs++
  if (r.stream == null) {
    // A stored block hides part of the parse: each coded block was
    // re-encoded on its own and compared with Node's bits instead.
    assert.equal(r.mismatchedBlock, undefined, `${data.length} bytes: block ${r.mismatchedBlock} re-encodes differently (zlib ${process.versions.zlib})`)
    stats.stored++
    stats.blocks += r.identicalBlocks
    return
  }
  const node = zlib.deflateRawSync(data, { level: 9 })
  assert.ok(r.stream.equals(node), `${data.length} bytes: the re-encoded parse differs from zlib.deflateRawSync (zlib ${process.versions.zlib})`)
  stats.exact++
}

test(`parse round trip is byte-identical to zlib ${process.versions.zlib}`, () => {
  const rand = rng(0x2023)
  const stats = { inputs: 0, exact: 0, stored: 0, blocks: 0 }
  for (const fixed of [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(100000), Buffer.alloc(16383 * 3, 'ab')]) check(fixed, stats)
  for (let i = 0; i < 400; i++) check(input(rand, i % 40 === 0 ? 300000 : 20000), stats)
  console.log(`gzip-trees: ${stats.exact} of ${stats.inputs} inputs byte-identical (${stats.stored} with a stored block: their ${stats.blocks} coded blocks byte-identical one by one)`)
  assert.ok(stats.exact > 250, JSON.stringify(stats))
})
