/**
 * `npm run doctor -- <https://relay.example>`: checks a relay deployment (relay/doctor/) and
 * prints what works and what to fix. Exit status 0 all works, 1 something does not, 2 bad usage.
 */
import { USAGE, doctorHelp, parseDoctorArgs } from '../relay/doctor/args.ts'
import { InvalidDoctorUrlError, runDoctor } from '../relay/doctor/index.ts'

const args = parseDoctorArgs(process.argv.slice(2))
if (args.kind === 'help') {
  process.stdout.write(doctorHelp())
} else if (args.kind === 'usage') {
  process.stderr.write(`doctor: ${args.message}\n${USAGE}\n`)
  process.exitCode = 2
} else {
  // Ctrl-C stops the checks (the libp2p node is stopped, sockets closed) and prints what was found
  const controller = new AbortController()
  process.once('SIGINT', () => controller.abort(new Error('interrupted')))
  if (!args.json) process.stderr.write(`doctor: checking ${args.url}…\n`)
  try {
    const { exitCode, output } = await runDoctor(args.url, { json: args.json, signal: controller.signal })
    process.exitCode = exitCode
    // a kept-alive HTTP connection or a closing WebSocket would hold the process for seconds
    process.stdout.write(output, () => process.exit())
  } catch (err) {
    if (!(err instanceof InvalidDoctorUrlError)) throw err
    process.stderr.write(`doctor: ${err.message}\n${USAGE}\n`)
    process.exitCode = 2
  }
}
