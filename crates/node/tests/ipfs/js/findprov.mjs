// An independent IPFS node (js-libp2p with @libp2p/kad-dht on /ipfs/kad/1.0.0) asks the DHT
// for providers of a CID, knowing only one peer, and keeps asking until one is found or
// WAIT_MS (default 10000) passed. Prints {providers: [{id, addrs}], errors: [...]}.
// Usage: node findprov.mjs MULTIADDR CID [WAIT_MS]
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'

const [addr, cidText, waitMs] = process.argv.slice(2)
const wait = Number(waitMs ?? 10_000)
const node = await createLibp2p({
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({ protocol: '/ipfs/kad/1.0.0', clientMode: true, peerInfoMapper: (p) => p }),
  },
})
const providers = []
const errors = []
try {
  await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })
  // The DHT adds the peer to its routing table once identify shows it serves the DHT.
  const deadline = Date.now() + wait
  while (Date.now() < deadline && providers.length === 0) {
    try {
      const signal = AbortSignal.timeout(Math.max(deadline - Date.now(), 1))
      for await (const p of node.contentRouting.findProviders(CID.parse(cidText), { signal })) {
        providers.push({ id: p.id.toString(), addrs: p.multiaddrs.map(String) })
      }
    } catch (e) {
      errors.push(String(e))
    }
    if (providers.length === 0) await new Promise((r) => setTimeout(r, 500))
  }
} finally {
  await node.stop()
}
console.log(JSON.stringify({ providers, errors }))
