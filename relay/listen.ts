import { ListenError } from './errors.ts'
import type { Server } from 'node:net'

// still exported here: relay.ts re-exports it from this module
export { ListenError }

/** Binds `server` to `host:port`; rejects with the bind error. */
export async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Turns a listen failure into a `ListenError` naming the setting, host and port, when it is one. */
export function explainListenError(err: unknown, name: string, host: string, port: number): Error {
  const text = String((err as Error)?.message ?? err)
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'EADDRINUSE' || text.includes('EADDRINUSE')) {
    return new ListenError(
      `${name} ${port} on ${host} is already in use: stop the other process or choose another ${name}`
    )
  }
  if (code === 'EADDRNOTAVAIL' || text.includes('EADDRNOTAVAIL') || code === 'ENOTFOUND') {
    return new ListenError(`cannot listen on ${host}:${port} (${name}): no such local interface`)
  }
  if (code === 'EACCES' || text.includes('EACCES')) {
    return new ListenError(`not allowed to listen on ${host}:${port} (${name}): choose a port above 1023`)
  }
  return err instanceof Error ? err : new Error(text)
}
