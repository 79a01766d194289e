#!/usr/bin/env node
'use strict'
// The `dynpack` command; see lib/cli/main.js.
// Registry requests block a libuv thread each: with libuv's default of 4, the
// 20 tag reads of a 20-image `package --push` would go 3 at a time beside the
// hashing. The pool is sized when first used, from the environment, so set it
// now and take it out again before any child process could inherit it.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  process.env.UV_THREADPOOL_SIZE = '16'
  require('node:fs').stat(__filename, () => {})
  delete process.env.UV_THREADPOOL_SIZE
}
const { main } = require('../lib/cli/main.js')

const SIGNAL_STATUS = { SIGINT: 130, SIGTERM: 143 }
const controller = new AbortController()
// Every running task listens for the abort: 20 images read and hashed at once are not a leak.
require('node:events').setMaxListeners(0, controller.signal)
let interrupted = null
function onSignal (signal) {
  if (interrupted) process.exit(SIGNAL_STATUS[signal]) // a second Ctrl-C: stop at once
  interrupted = signal
  controller.abort() // running tasks stop and remove their temporary files
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
for (const stream of [process.stdout, process.stderr]) {
  // `dynpack pack | head -1`: a closed pipe is not an error worth a stack trace.
  stream.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw err })
}

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
  signal: controller.signal,
}).then((status) => {
  process.exitCode = interrupted ? SIGNAL_STATUS[interrupted] : status
})
