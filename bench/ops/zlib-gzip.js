'use strict'
// Child: the floor of byte-identical packing, Node's zlib at level 9 (what
// npm pack uses) on the uncompressed tar, read into memory before timing.
// usage: node zlib-gzip.js <tar file>

const fs = require('node:fs')
const zlib = require('node:zlib')
const { report, since } = require('../lib/measure')

const tar = fs.readFileSync(process.argv[2])
const t0 = process.hrtime.bigint()
const gz = zlib.gzipSync(tar, { level: 9 })
report({ seconds: since(t0), size: gz.length, input: tar.length })
