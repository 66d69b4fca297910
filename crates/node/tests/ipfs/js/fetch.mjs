// Helia (an independent IPFS implementation) fetches CIDs from one peer over Bitswap and
// prints {cid: hex}. Usage: node fetch.mjs MULTIADDR CID...
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'

const [addr, ...cids] = process.argv.slice(2)
const helia = withBitswap(withLibp2pLight(createHeliaLight(), {
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify() },
}))
await helia.start()
const out = {}
try {
  const ma = multiaddr(addr)
  await helia.libp2p.dial(ma, { signal: AbortSignal.timeout(10_000) })
  for (const s of cids) {
    const cid = CID.parse(s)
    const got = await helia.blockstore.get(cid, { providers: [ma], signal: AbortSignal.timeout(20_000) })
    // The blockstore answers bytes or, in newer interface-blockstore, chunks of them.
    const chunks = []
    if (got instanceof Uint8Array) chunks.push(got)
    else for await (const c of got) chunks.push(c)
    out[s] = Buffer.concat(chunks).toString('hex')
  }
} finally {
  await helia.stop()
}
console.log(JSON.stringify(out))
