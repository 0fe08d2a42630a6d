/**
 * The box's DNS: a tiny authoritative server (UDP, port 53) answering A queries for the names it
 * is given, no data for other types of those names, and NXDOMAIN for any other name. Browsers in the box use it through their namespace's own
 * resolv.conf, for pages and for WebRTC's STUN/TURN lookups alike.
 *
 * Run as a process inside the box: `node test/helpers/box-dns.ts <listen ip> name=ip [name=ip …]`.
 */
import { createSocket } from 'node:dgram'
import { decode, encode } from '@dnsquery/dns-packet'
import type { Packet } from '@dnsquery/dns-packet'

const [listen, ...pairs] = process.argv.slice(2)
if (listen == null || pairs.length === 0) {
  console.error('usage: node test/helpers/box-dns.ts <listen ip> name=ip [name=ip …]')
  process.exit(2)
}
const records = new Map(
  pairs.map(pair => {
    const [name, address] = pair.split('=')
    return [name!.toLowerCase(), address!]
  })
)

const socket = createSocket('udp4')
socket.on('message', (message, remote) => {
  let query: Packet
  try {
    query = decode(message)
  } catch {
    return // not DNS: ignore
  }
  const question = query.questions?.[0]
  if (question == null) return
  const address = records.get(question.name.toLowerCase())
  const answers =
    address != null && question.type === 'A'
      ? [{ type: 'A' as const, class: 'IN' as const, name: question.name, ttl: 60, data: address }]
      : []
  const response = encode({
    id: query.id,
    type: 'response',
    // authoritative; NXDOMAIN (rcode 3) for a name it does not know, no data (rcode 0, no
    // answer) for another type of a known name (AAAA: the box has no IPv6)
    flags: (1 << 10) | (records.has(question.name.toLowerCase()) ? 0 : 3),
    questions: [question],
    answers
  })
  socket.send(response, remote.port, remote.address)
})
socket.bind(53, listen, () => console.log(`dns: listening on ${listen}:53`))
