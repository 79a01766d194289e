'use strict'
// `dynpack push`: an image of an OCI layout folder or oci-archive to its
// registry, without podman or skopeo. `pushImages` is shared with
// `dynpack package --push`.

const path = require('node:path')
const { parse, usageError } = require('./args.js')
const { Reporter, json, formatBytes, fitLine } = require('./report.js')

const REGISTRY_OPTIONS = {
  authfile: { type: 'string' },
  creds: { type: 'string' },
  'cert-dir': { type: 'string' },
  'tls-verify': { type: 'string' },
}

const OPTIONS = {
  ref: { type: 'string' },
  json: { type: 'boolean' },
  ...REGISTRY_OPTIONS,
}

const REGISTRY_HELP = `      --authfile FILE   the auth.json read first (default: REGISTRY_AUTH_FILE,
                        $XDG_RUNTIME_DIR/containers/auth.json, then
                        ~/.config/containers/auth.json, ~/.docker/config.json)
      --creds U:P       credentials to use instead of any auth file
      --cert-dir DIR    CA certificates (*.crt) and client certificates
                        (*.cert + *.key), instead of certs.d/<host>/
      --tls-verify=false  accept any certificate and fall back to plain HTTP`

const usage = `Usage: dynpack push [SOURCE] [TAG] [--ref NAME] [--json] [registry options]

Pushes an image of an OCI layout folder (default dist-oci) or oci-archive
file to a registry: blobs first (only the missing ones), the manifest last
with its exact bytes, so the digest printed is the one the registry serves.
TAG (host/repository:tag) defaults to the reference the image was built for.

Options:
      --ref NAME        the image in SOURCE (its org.opencontainers.image.ref.name);
                        default: the only one
      --json            print the result object
${REGISTRY_HELP}
  -q, --quiet           no notes on stderr
      --verbose         more details on errors
  -h, --help            show this help

Exit status: 0 on success, 1 on failure, 2 on a usage error.`

/** The registry options of `values` for pushOciImage / registryLogin. */
function registryOptions (values, cwd, command) {
  const out = {}
  if (values.authfile) out.authfile = path.resolve(cwd, values.authfile)
  if (values.creds) out.creds = values.creds
  if (values['cert-dir']) out.certDir = path.resolve(cwd, values['cert-dir'])
  const tv = values['tls-verify']
  if (tv !== undefined) {
    if (tv !== 'true' && tv !== 'false') throw usageError('--tls-verify must be true or false', command)
    out.tlsVerify = tv === 'true'
  }
  return out
}

/** A progress line on a TTY: bytes sent and the rate. */
function progressPrinter (report, label) {
  if (!report.showProgress) return undefined
  const start = Date.now()
  return (bytes) => {
    const secs = Math.max((Date.now() - start) / 1000, 0.001)
    const width = (report.io.stderr.columns || 80) - 1
    report.io.stderr.write(`\r\x1b[K${fitLine(`dynpack: pushing ${formatBytes(bytes)} (${formatBytes(Math.round(bytes / secs))}/s)`, [label], width)}`)
  }
}

/**
 * Pushes several images in parallel; one failure does not stop or hide the
 * others. `jobs` = [{ source, refName?, tag?, streamedBlobs? }]. Resolves to
 * [{ job, result } | { job, error }] in order.
 */
async function pushImages (jobs, options, report, signal) {
  const api = require('../api.js')
  const settled = await Promise.allSettled(jobs.map((job) => {
    const onProgress = jobs.length === 1 ? progressPrinter(report, job.tag ?? job.source) : undefined
    return api.pushOciImage(job.source, { ...options, refName: job.refName, tag: job.tag, streamedBlobs: job.streamedBlobs, signal, onProgress })
      .finally(() => { if (onProgress) report.io.stderr.write('\n') })
  }))
  return settled.map((s, i) => (s.status === 'fulfilled' ? { job: jobs[i], result: s.value } : { job: jobs[i], error: s.reason }))
}

/** One line per pushed image. */
function describePush (r) {
  const what = r.upToDate
    ? 'up to date, nothing sent'
    : `${r.blobs.uploaded} uploaded (${formatBytes(r.bytesUploaded)}), ${r.blobs.mounted} mounted, ${r.blobs.existing} already there`
  const referrers = r.referrers ? `, ${r.referrers} referrer${r.referrers === 1 ? '' : 's'} (SBOM)` : ''
  return `pushed ${r.tag} (${what}${referrers})`
}

/**
 * `dynpack package --push`: pushes every image the run built (`images`:
 * [{ output, result }] from buildImage), in parallel. Sets `image.pushed`
 * on each success and resolves to the failures [{ label, error }].
 */
async function pushBuilt (images, values, { cwd, report, signal }) {
  const options = registryOptions(values, cwd, 'package')
  const outcomes = await pushImages(images.map((img) => ({
    source: img.output,
    refName: img.result.refName,
    streamedBlobs: img.result.layerUpload?.uploaded ? [img.result.layerDigest] : undefined,
  })), options, report, signal)
  const failures = []
  outcomes.forEach((o, i) => {
    if (o.result) {
      images[i].pushed = o.result
      report.note(describePush(o.result))
    } else {
      failures.push({ label: `${images[i].output} (${images[i].result.refName})`, error: o.error })
    }
  })
  return failures
}

async function run (argv, io) {
  const { values, positionals } = parse('push', argv, OPTIONS, { max: 2 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  const source = path.resolve(cwd, positionals[0] ?? 'dist-oci')
  const options = registryOptions(values, cwd, 'push')
  const [outcome] = await pushImages([{ source, refName: values.ref, tag: positionals[1] }], options, report, io.signal)
  if (outcome.error) throw outcome.error
  const r = outcome.result
  if (values.json) {
    io.stdout.write(json(r))
  } else {
    report.note(describePush(r))
    report.out(r.reference)
  }
  return 0
}

module.exports = { name: 'push', summary: 'push an OCI image (layout or oci-archive) to a registry', usage, run, pushImages, pushBuilt, describePush, registryOptions, REGISTRY_OPTIONS, REGISTRY_HELP }
