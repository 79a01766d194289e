// The real matcher for tests/minimatch_parity.rs: reads one JSON line
// `[pattern, [path, ...]]` at a time from stdin and answers one line: `E` when
// minimatch throws on the pattern, else one `0`/`1` per path for
// `mm.match(path)` followed by one per path for `mm.match(path, true)`, with
// the options npm's ignore walker (ignore-walk 8) passes.
'use strict'
const { Minimatch } = require(process.argv[2])
const options = { matchBase: true, dot: true, flipNegate: true, nocase: true }
const lines = require('readline').createInterface({ input: process.stdin })
let out = ''
lines.on('line', (line) => {
  const [pattern, paths] = JSON.parse(line)
  let mm
  try {
    mm = new Minimatch(pattern, options)
  } catch {
    out += 'E\n'
    return
  }
  let s = ''
  for (const p of paths) s += mm.match(p) ? '1' : '0'
  for (const p of paths) s += mm.match(p, true) ? '1' : '0'
  out += s + '\n'
  if (out.length > 1 << 16) {
    process.stdout.write(out)
    out = ''
  }
})
lines.on('close', () => process.stdout.write(out))
