//! A hostile peer on the same libp2p stack as coinrsd, for tests of the node's defences.
//!
//! It listens on a loopback address of its own (127.0.0.x, so that banning its IP does not
//! ban the honest test nodes on 127.0.0.1), waits for the node to dial it (`addnode`), then
//! misbehaves as scripted and reports when the node hangs up.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use coinrs_core::block::BlockHeader;
use coinrs_core::{BlockHash, Txid};
use coinrs_net::behaviour::{BehaviourEvent, BehaviourOptions, build_swarm};
use coinrs_net::protocol::{self, Request, Response, Status};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId};

/// What the hostile peer does once the node is connected.
#[derive(Clone, Debug)]
pub enum Misbehaviour {
    /// Publishes these bytes as a block on the blocks topic.
    InvalidBlock(Vec<u8>),
    /// Claims a better chain in its status and answers the node's `GetHeaders` with these.
    BogusHeaders(Vec<BlockHeader>),
    /// Sends a request frame larger than the protocol allows.
    OversizedRequest,
    /// Sends `n` mempool requests as fast as the node answers them (32 at a time, under the
    /// node's limit of concurrent streams, so that every one is read).
    RequestFlood(usize),
}

/// What the hostile peer saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The node connected.
    Connected(PeerId),
    /// The node closed the connection.
    Disconnected(PeerId),
}

/// A running hostile peer.
#[derive(Debug)]
pub struct HostilePeer {
    /// Its listen address as `HOST:PORT` (for `addnode`).
    pub addr: String,
    /// Its peer id.
    pub peer_id: PeerId,
    events: mpsc::Receiver<Seen>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostilePeer {
    /// Starts a hostile peer of the chain (`genesis`, `params_digest`) listening on `ip`
    /// (a loopback address such as 127.0.0.2) and a free port.
    pub fn start(
        ip: &str,
        genesis: BlockHash,
        params_digest: [u8; 32],
        script: Misbehaviour,
    ) -> Result<Self> {
        let port = {
            let l = std::net::TcpListener::bind((ip, 0)).with_context(|| format!("bind {ip}"))?;
            l.local_addr()?.port()
        };
        let key = Keypair::generate_ed25519();
        let peer_id = key.public().to_peer_id();
        let listen: Multiaddr = format!("/ip4/{ip}/tcp/{port}").parse()?;
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(run(
                key,
                genesis,
                params_digest,
                listen,
                script,
                tx,
                stop_rx,
                ready_tx,
            ));
        });
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => bail!("hostile peer: {e}"),
            Err(_) => bail!("hostile peer did not start"),
        }
        Ok(HostilePeer {
            addr: format!("{ip}:{port}"),
            peer_id,
            events: rx,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Waits for an event, up to `timeout`.
    pub fn wait(&self, want: impl Fn(&Seen) -> bool, timeout: Duration) -> Result<Seen> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) if want(&e) => return Ok(e),
                Ok(_) => {}
                Err(_) => bail!("no such event within {timeout:?}"),
            }
        }
    }
}

impl Drop for HostilePeer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn status(genesis: BlockHash, params_digest: [u8; 32], script: &Misbehaviour) -> Status {
    match script {
        Misbehaviour::BogusHeaders(h) => Status {
            params_digest,
            genesis,
            tip: h.last().map(BlockHeader::hash).unwrap_or(genesis),
            height: h.len() as u64,
            tip_time: h.last().map_or(0, |h| h.time),
            chainwork: [0xff; 32],
            best_header: h.last().map(BlockHeader::hash).unwrap_or(genesis),
            best_header_height: h.len() as u64,
        },
        _ => Status {
            params_digest,
            genesis,
            tip: genesis,
            height: 0,
            tip_time: 0,
            chainwork: [0; 32],
            best_header: genesis,
            best_header_height: 0,
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    key: Keypair,
    genesis: BlockHash,
    params_digest: [u8; 32],
    listen: Multiaddr,
    script: Misbehaviour,
    events: mpsc::Sender<Seen>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    ready: mpsc::Sender<Result<(), String>>,
) {
    let opts = BehaviourOptions {
        mdns: false,
        dht: false,
        ipfs_dht: false,
        banned: Default::default(),
        max_inbound: 16,
        max_outbound: 16,
        agent: "hostile/0".into(),
        relay_service: false,
        private_network: false,
    };
    let mut swarm = match build_swarm(key, &genesis, &opts) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    if let Err(e) = swarm.listen_on(listen) {
        let _ = ready.send(Err(e.to_string()));
        return;
    }
    let _ = ready.send(Ok(()));
    let blocks = IdentTopic::new(protocol::blocks_topic(&genesis));
    let mine = status(genesis, params_digest, &script);
    let mut flood_left = 0usize;
    loop {
        let event = tokio::select! {
            _ = &mut stop => return,
            e = swarm.select_next_some() => e,
        };
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                let _ = events.send(Seen::Connected(peer_id));
                match &script {
                    Misbehaviour::OversizedRequest => {
                        // 5 000 txids: 160 kB, over the 64 KiB limit of a request frame.
                        let req = Request::GetTxs(vec![Txid([7; 32]); 5000]);
                        swarm
                            .behaviour_mut()
                            .sync
                            .send_request(&peer_id, req.into());
                    }
                    Misbehaviour::RequestFlood(n) => {
                        for _ in 0..32.min(*n) {
                            swarm
                                .behaviour_mut()
                                .sync
                                .send_request(&peer_id, Request::GetMempool.into());
                        }
                        flood_left = n.saturating_sub(32);
                    }
                    _ => {}
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                // Stop: a request to a disconnected peer would dial it again, from 127.0.0.1.
                flood_left = 0;
                let _ = events.send(Seen::Disconnected(peer_id));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Subscribed {
                topic,
                ..
            })) if topic == blocks.hash() => {
                if let Misbehaviour::InvalidBlock(bytes) = &script {
                    let _ = swarm
                        .behaviour_mut()
                        .gossip
                        .publish(blocks.clone(), bytes.clone());
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::Message {
                    peer,
                    message: Message::Response { .. },
                    ..
                }
                | request_response::Event::OutboundFailure { peer, .. },
            )) if flood_left > 0 => {
                flood_left -= 1;
                swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, Request::GetMempool.into());
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            })) => {
                let coinrs_net::protocol::Inbound::Request(request) = request else {
                    continue;
                };
                let response = match (request, &script) {
                    (Request::Status(_), _) => Response::Status(mine.clone()),
                    (Request::GetHeaders { .. }, Misbehaviour::BogusHeaders(h)) => {
                        Response::Headers(h.clone())
                    }
                    (Request::GetHeaders { .. }, _) => Response::Headers(vec![]),
                    (Request::GetMempool, _) => Response::Mempool(vec![]),
                    (Request::GetBlocks(_), _) => Response::Blocks(vec![]),
                    (Request::GetTxs(_), _) => Response::Txs(vec![]),
                };
                let _ = swarm.behaviour_mut().sync.send_response(channel, response);
            }
            _ => {}
        }
    }
}
