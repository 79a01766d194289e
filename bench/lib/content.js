'use strict'
// File contents that compress like the real thing: code-like text built from
// identifiers, keywords and punctuation (gzip -9 shrinks it ~3-4x, as it does
// real bundles), source maps with VLQ mappings, JSON, prose and a few
// incompressible binaries. Each generator returns a Buffer of `size` bytes.

const { Rng } = require('./prng')

const SYLLABLES = ('get set create update delete load save find resolve parse format read write ' +
  'catalog entity plugin backend router service config schema token auth user group ' +
  'request response handler client server cache store task queue event stream buffer ' +
  'options context logger metrics scheduler permission policy provider processor module ' +
  'index value result error state props item list map node path file url data info').split(' ')

const KEYWORDS = ['const', 'let', 'var', 'return', 'if', 'else', 'function', 'async', 'await',
  'new', 'this', 'typeof', 'null', 'undefined', 'true', 'false', 'throw', 'for', 'of', 'in']

const WORDS = ('the a to of and is in for this that with plugin backend package version ' +
  'configuration option value default use can be when not are by from you will returns ' +
  'function module install support see more example api request data type string number').split(' ')

/** A deterministic pool of camelCase identifiers, shared by all generators. */
const IDENTS = (() => {
  const rng = new Rng('identifiers')
  const out = []
  for (let i = 0; i < 4000; i++) {
    const n = rng.int(1, 3)
    let s = rng.pick(SYLLABLES)
    for (let j = 1; j < n; j++) { const w = rng.pick(SYLLABLES); s += w[0].toUpperCase() + w.slice(1) }
    if (rng.next() < 0.15) s += rng.int(0, 99)
    if (rng.next() < 0.1) s = '_' + s
    out.push(s)
  }
  return out
})()

const MANGLED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$0123456789ab'

/** Identifiers one file uses: real files reuse a few hundred names a lot. */
function vocabulary (rng, n) {
  const v = []
  for (let i = 0; i < n; i++) {
    // a third are minifier-style short names, which carry more entropy per byte
    v.push(i % 3 === 2 ? MANGLED[rng.int(0, 51)] + MANGLED[rng.int(0, 63)] : IDENTS[rng.int(0, IDENTS.length - 1)])
  }
  return v
}

function fit (str, size) {
  const buf = Buffer.from(str, 'latin1')
  return buf.length >= size ? buf.subarray(0, size) : Buffer.concat([buf, Buffer.alloc(size - buf.length, 32)])
}

function jsLine (rng, v, indent) {
  const a = rng.zipf(v); const b = rng.zipf(v); const c = rng.zipf(v)
  switch (rng.int(0, 11)) {
    case 0: return `${indent}const ${a} = ${b}.${c}(${rng.zipf(v)}, ${rng.int(0, 99999)});\n`
    case 1: return `${indent}if (${a} === ${rng.pick(KEYWORDS)} || !${b}.${c}) {\n${indent}  return ${rng.zipf(v)};\n${indent}}\n`
    case 2: return `${indent}${a}.${b} = await ${c}(${rng.zipf(v)}, { ${rng.zipf(v)}: ${rng.zipf(v)} });\n`
    case 3: return `${indent}function ${a}(${b}, ${c}) {\n`
    case 4: return `${indent}}\n`
    case 5: return `${indent}throw new Error(\`${rng.pick(WORDS)} ${rng.pick(WORDS)} \${${a}}\`);\n`
    case 6: return `${indent}for (const ${a} of ${b}.${c}) ${rng.zipf(v)}.push(${a});\n`
    case 7: return `${indent}exports.${a} = ${a};\n`
    case 8: return `${indent}var ${a}=${b}[${rng.int(0, 4096)}],${c}=${rng.zipf(v)}(${a},"${rng.u32().toString(36)}");\n`
    case 9: return `${indent}${a}.${b}("${rng.pick(WORDS)}-${rng.pick(SYLLABLES)}", ${c});\n`
    case 10: return `${indent}return ${a} ? ${b}(${c}) : ${rng.zipf(v)}.${rng.zipf(v)};\n`
    default: return `${indent}const { ${a}, ${b} } = require("${rng.pick(SYLLABLES)}-${rng.pick(SYLLABLES)}");\n`
  }
}

/** JavaScript-like code (CommonJS/ESM bundles, chunks). */
function js (seed, size) {
  const rng = new Rng(seed)
  const v = vocabulary(rng, rng.int(400, 900))
  const parts = ['"use strict";\n']
  let n = parts[0].length
  let depth = 0
  while (n < size) {
    const line = jsLine(rng, v, '  '.repeat(depth))
    if (line.endsWith('{\n')) depth = Math.min(depth + 1, 6)
    else if (line.trim() === '}' && depth > 0) depth--
    parts.push(line); n += line.length
  }
  return fit(parts.join(''), size)
}

const TS_TYPES = ['string', 'number', 'boolean', 'unknown', 'Promise<void>', 'JsonObject', 'Config', 'Entity[]', 'Logger']

/** TypeScript declarations. */
function dts (seed, size) {
  const rng = new Rng(seed)
  const v = vocabulary(rng, rng.int(300, 600))
  const parts = []
  let n = 0
  while (n < size) {
    let s
    const name = rng.zipf(v); const Name = name.replace(/^_/, '')
    switch (rng.int(0, 3)) {
      case 0: s = `export declare function ${name}(${rng.zipf(v)}: ${rng.pick(TS_TYPES)}, ${rng.zipf(v)}?: ${rng.pick(TS_TYPES)}): ${rng.pick(TS_TYPES)};\n`; break
      case 1: s = `/**\n * ${rng.pick(WORDS)} ${rng.pick(WORDS)} ${rng.pick(WORDS)} ${rng.pick(WORDS)}.\n * @public\n */\n`; break
      case 2: s = `export interface ${Name[0].toUpperCase() + Name.slice(1)}Options {\n    ${rng.zipf(v)}: ${rng.pick(TS_TYPES)};\n    ${rng.zipf(v)}?: ${rng.pick(TS_TYPES)};\n}\n`; break
      default: s = `export type ${Name[0].toUpperCase() + Name.slice(1)} = ${rng.pick(TS_TYPES)} | ${rng.pick(TS_TYPES)};\n`
    }
    parts.push(s); n += s.length
  }
  return fit(parts.join(''), size)
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const VLQ_COMMON = 'AACAAAAEIGKMOQSUgBACEGIKAAAA'

/** Source maps: VLQ mappings plus the sources' content, as bundlers emit. */
function map (seed, size) {
  const rng = new Rng(seed)
  const pool = []
  for (let k = 0; k < 2048; k++) {
    let s = ''
    const len = rng.int(4, 6)
    for (let i = 0; i < len; i++) s += rng.next() < 0.6 ? VLQ_COMMON[rng.int(0, VLQ_COMMON.length - 1)] : B64[rng.int(0, 63)]
    pool.push(s)
  }
  const seg = []
  let n = 0
  const target = Math.floor(size * 0.45)
  while (n < target) {
    const s = pool[rng.int(0, pool.length - 1)] + (rng.next() < 0.1 ? ';' : ',')
    seg.push(s); n += s.length
  }
  const names = vocabulary(rng, 40)
  const head = `{"version":3,"file":"index.js","sources":["../src/${names[0]}.ts","../src/${names[1]}.ts"],"names":${JSON.stringify(names)},"mappings":"`
  const body = JSON.stringify(js(seed + ':src', Math.max(0, size - target - head.length - 40)).toString('latin1'))
  return fit(`${head}${seg.join('')}","sourcesContent":[${body}]}\n`, size)
}

/** JSON documents (config schemas, metadata). */
function json (seed, size) {
  const rng = new Rng(seed)
  const v = vocabulary(rng, 600)
  const parts = ['{\n  "$schema": "http://json-schema.org/draft-07/schema#",\n  "properties": {\n']
  let n = parts[0].length
  while (n < size) {
    const s = `    "${rng.zipf(v)}": { "type": "${rng.pick(['string', 'number', 'object', 'boolean'])}", "description": "${rng.pick(WORDS)} ${rng.pick(WORDS)} ${rng.pick(WORDS)}", "visibility": "${rng.pick(['frontend', 'backend', 'secret'])}" },\n`
    parts.push(s); n += s.length
  }
  return fit(parts.join(''), size)
}

/** Markdown prose (READMEs, CHANGELOGs). */
function md (seed, size) {
  const rng = new Rng(seed)
  const parts = [`# ${rng.pick(SYLLABLES)}-${rng.pick(SYLLABLES)}\n\n`]
  let n = parts[0].length
  while (n < size) {
    let s = ''
    const len = rng.int(8, 30)
    for (let i = 0; i < len; i++) s += rng.pick(WORDS) + ' '
    s += rng.next() < 0.2 ? '\n\n## ' + rng.pick(SYLLABLES) + '\n\n' : '.\n'
    parts.push(s); n += s.length
  }
  return fit(parts.join(''), size)
}

const LICENSE = 'MIT License\n\nCopyright (c) Bench Authors\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n' +
  'of this software and associated documentation files (the "Software"), to deal\nin the Software without restriction.\n' +
  'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.\n'

function license () { return Buffer.from(LICENSE) }

/** CSS of frontend chunks. */
function css (seed, size) {
  const rng = new Rng(seed)
  const v = vocabulary(rng, 80)
  const parts = []
  let n = 0
  while (n < size) {
    const s = `.${rng.zipf(v)}-${rng.int(0, 40)}{display:${rng.pick(['flex', 'block', 'grid', 'none'])};margin:${rng.int(0, 16)}px ${rng.int(0, 16)}px;color:#${rng.int(0, 0xffffff).toString(16).padStart(6, '0')}}\n`
    parts.push(s); n += s.length
  }
  return fit(parts.join(''), size)
}

/** Incompressible bytes (images, fonts, wasm, native addons). */
function bin (seed, size) {
  return new Rng(seed).fill(Buffer.allocUnsafeSlow(size))
}

const GENERATORS = { js, dts, map, json, md, license, css, bin }

/** Content of `kind` for the file named `seed`, exactly `size` bytes (license: fixed). */
function generate (kind, seed, size) {
  const g = GENERATORS[kind]
  if (!g) throw new Error(`unknown content kind ${kind}`)
  return g(seed, size)
}

module.exports = { generate, IDENTS, SYLLABLES }
