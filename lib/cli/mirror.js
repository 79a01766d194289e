'use strict'
// `dynpack mirror`: everything a dynamic-plugins.yaml needs, copied to a
// mirror a disconnected cluster reaches (lib/mirror.js), and the config
// rewritten to point there.

const path = require('node:path')
const { parse, usageError } = require('./args.js')
const { Reporter, json, formatBytes } = require('./report.js')

const SIDE = ['authfile', 'creds', 'cert-dir', 'tls-verify']

const OPTIONS = {
  to: { type: 'string' },
  'to-dir': { type: 'string' },
  out: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'tgz-dir': { type: 'string' },
  'base-url': { type: 'string' },
  'npm-registry': { type: 'string' },
  ...Object.fromEntries(SIDE.flatMap((k) => [[k, { type: 'string' }], [`src-${k}`, { type: 'string' }], [`dest-${k}`, { type: 'string' }]])),
}

const usage = `Usage: dynpack mirror CONFIG --to HOST[:PORT]/PREFIX [--out FILE] [options]
       dynpack mirror CONFIG --to-dir DIR [options]       (first of two hops)
       dynpack mirror DIR --to HOST[:PORT]/PREFIX [--out FILE] [options]

Copies everything the dynamic-plugins.yaml CONFIG (or an RHDH ConfigMap
holding one) needs to a mirror a disconnected cluster can reach, and writes
the config rewritten to use it (stdout, or --out FILE):
  oci:// images       copied by digest to HOST/PREFIX/<original repository>,
                      with their cosign signatures and referrers (SBOMs);
                      the new reference is pinned by digest
  https:// tgz URLs   downloaded, checked against their integrity, written
                      to --tgz-dir, the URL changed to --base-url/<file>
  name@version (npm)  fetched with npm (your .npmrc), checked, then handled
                      like a tgz, or published to --npm-registry
Local paths ({{inherit}}, plugins inside the RHDH image) are kept as they
are and listed. The config is written only when every entry was mirrored.
Across an air gap, --to-dir DIR writes everything into one folder (an OCI
image layout with the signatures and referrers, the tgz files, the config
and mirror.json); on the other side, DIR --to … gives the same result.

Options:
      --to HOST/PREFIX    the mirror registry and repository prefix
      --to-dir DIR        write a folder to carry across an air gap instead
      --out FILE          write the rewritten config there (default: stdout)
      --tgz-dir DIR       the folder an httpd serves, for tgz and npm entries
      --base-url URL      the URL of that folder, as the cluster sees it
      --npm-registry URL  publish npm entries to this private registry instead
      --dry-run           list what would be copied and how much; copy nothing
      --json              print the report (with the config) as JSON
      --authfile FILE, --creds U:P, --cert-dir DIR, --tls-verify=false
                          registry options for both sides; --src-… and
                          --dest-… (as skopeo names them) for one side
  -q, --quiet             no notes on stderr
  -h, --help              show this help

Exit status: 0 on success, 1 on failure, 2 on a usage error.`

function side (values, prefix, cwd) {
  const out = {}
  const get = (k) => values[`${prefix}${k}`] ?? values[k]
  if (get('authfile')) out.authfile = path.resolve(cwd, get('authfile'))
  if (get('creds')) out.creds = get('creds')
  if (get('cert-dir')) out.certDir = path.resolve(cwd, get('cert-dir'))
  const tv = get('tls-verify')
  if (tv !== undefined) {
    if (tv !== 'true' && tv !== 'false') throw usageError(`--${prefix}tls-verify must be true or false`, 'mirror')
    out.tlsVerify = tv === 'true'
  }
  return out
}

async function run (argv, io) {
  const { values, positionals } = parse('mirror', argv, OPTIONS, { min: 1, max: 1 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  if (!values.to === !values['to-dir']) throw usageError('give --to HOST[:PORT]/PREFIX (the mirror registry) or --to-dir DIR (a folder to carry across), one of them', 'mirror')
  const { mirrorDynamicPlugins } = require('../api.js')
  const live = report.liveProgress()
  let r
  try {
    r = await mirrorDynamicPlugins(path.resolve(cwd, positionals[0]), {
      to: values.to,
      toDir: values['to-dir'] ? path.resolve(cwd, values['to-dir']) : undefined,
      out: values.out ? path.resolve(cwd, values.out) : undefined,
      dryRun: values['dry-run'],
      tgzDir: values['tgz-dir'] ? path.resolve(cwd, values['tgz-dir']) : undefined,
      baseUrl: values['base-url'],
      npmRegistry: values['npm-registry'],
      src: side(values, 'src-', cwd),
      dest: side(values, 'dest-', cwd),
      signal: io.signal,
      onProgress: report.showProgress ? (bytes) => live.update('mirror', { bytesDone: bytes }) : undefined,
    })
  } finally {
    live.end()
  }
  if (values.json) {
    io.stdout.write(json(r))
    return 0
  }
  for (const m of r.movedTags) report.warn(m)
  for (const i of r.images) {
    const attached = [i.signature ? 'signature' : 'no signature', `${i.referrers} referrer${i.referrers === 1 ? '' : 's'}`].join(', ')
    report.note(values['dry-run']
      ? `would copy ${i.source} → ${i.reference || values['to-dir']} (${i.blobs} blobs, ${formatBytes(i.bytesTotal)}, ${attached})`
      : `copied ${i.source} → ${i.reference} (${i.uploaded} uploaded, ${formatBytes(i.bytesUploaded)}, ${i.mounted} mounted, ${i.existing} already there; ${attached})`)
  }
  for (const t of [...r.tgz, ...r.npm]) report.note(`mirrored ${t.package} → ${t.url ?? t.registry}`)
  for (const k of r.kept) report.note(`kept ${k.package}: ${k.reason}`)
  if (values['dry-run']) return 0
  if (values['to-dir']) report.note(`wrote ${r.written}; carry it across, then: dynpack mirror ${r.written} --to HOST/PREFIX`)
  else if (r.written) report.note(`wrote ${r.written}`)
  else io.stdout.write(r.config)
  return 0
}

module.exports = { name: 'mirror', summary: 'copy what a dynamic-plugins.yaml needs to a mirror, signatures included', usage, run }
