/** What the content importer is given (issue 16): pieces that own their bytes, within the limit. */
import { expect, test } from 'vitest'
import { limitedChunks } from '../../src/core/content/content-input.ts'

const MiB = 1024 * 1024

async function pieces(content: Uint8Array | Blob, max = 64 * MiB): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const piece of limitedChunks(content, { size: 0 }, max, {})) out.push(piece)
  return out
}

test('a large buffer is given in leaf-sized copies, never as views of itself (IndexedDB would store the whole buffer per block)', async () => {
  const big = new Uint8Array(3 * MiB + 5).map((_, i) => i % 251)
  const out = await pieces(big)
  expect(out.map(p => p.byteLength)).toEqual([MiB, MiB, MiB, 5])
  for (const piece of out) expect(piece.buffer.byteLength).toBe(piece.byteLength)
  expect(Buffer.concat(out).equals(Buffer.from(big))).toBe(true)
  // a small view is copied too; a small buffer of its own passes as it is
  const view = big.subarray(10, 20)
  const [copied] = await pieces(view)
  expect(copied?.buffer.byteLength).toBe(10)
  const own = new Uint8Array(10)
  expect((await pieces(own))[0]).toBe(own)
})

test('content past the limit is refused as it streams', async () => {
  await expect(pieces(new Blob([new Uint8Array(MiB), new Uint8Array(2)]), MiB)).rejects.toMatchObject({
    name: 'ContentTooLargeError'
  })
})
