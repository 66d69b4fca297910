//! A bare Bitswap client for tests: a libp2p node that is no coinrs node (identify says
//! `ipfs/0.1.0`, as IPFS nodes do), dials a coinrsd, sends one Bitswap message and records
//! every message the node sends back on the streams it opens, with when it arrived.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use coinrs_net::bitswap::{self, Message};
use futures::{SinkExt, StreamExt};
use libp2p::identity::Keypair;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, SwarmBuilder, identify, noise, tcp, yamux};

#[derive(NetworkBehaviour)]
struct ClientBehaviour {
    identify: identify::Behaviour,
    streams: libp2p_stream::Behaviour,
}

/// One message from the node and how long after the request was sent it arrived.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Time since the request was written.
    pub after: Duration,
    /// The message.
    pub message: Message,
}

/// Dials `node` (a multiaddr with `/p2p/PEERID`), sends `request` on a Bitswap 1.2.0
/// stream and collects the node's messages until none came for `quiet` (once at least one
/// came) or `max` passed.
pub fn exchange(
    node: &Multiaddr,
    request: Message,
    quiet: Duration,
    max: Duration,
) -> Result<Vec<Answer>> {
    exchange_as(bitswap::PROTOCOL_1_2, node, request, quiet, max)
}

/// [`exchange`] as a client that speaks only `protocol` (e.g. Bitswap 1.1.0).
pub fn exchange_as(
    protocol: libp2p::StreamProtocol,
    node: &Multiaddr,
    request: Message,
    quiet: Duration,
    max: Duration,
) -> Result<Vec<Answer>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(protocol, node.clone(), request, quiet, max))
}

async fn run(
    protocol: libp2p::StreamProtocol,
    node: Multiaddr,
    request: Message,
    quiet: Duration,
    max: Duration,
) -> Result<Vec<Answer>> {
    let peer = node
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .context("the node's address needs /p2p/PEERID")?;
    let mut swarm = SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| ClientBehaviour {
            identify: identify::Behaviour::new(identify::Config::new(
                "ipfs/0.1.0".into(),
                key.public(),
            )),
            streams: libp2p_stream::Behaviour::new(),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let mut control = swarm.behaviour().streams.new_control();
    let mut incoming = control
        .accept(protocol.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    swarm.dial(node.clone())?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Message)>();
    let driver = tokio::spawn(async move {
        loop {
            if let SwarmEvent::OutgoingConnectionError { error, .. } =
                swarm.select_next_some().await
            {
                eprintln!("bitswap client: dial failed: {error}");
            }
        }
    });
    let reader = tokio::spawn(async move {
        while let Some((_, stream)) = incoming.next().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut frames = asynchronous_codec::FramedRead::new(stream, bitswap::codec());
                while let Some(Ok(m)) = frames.next().await {
                    if tx.send((Instant::now(), m)).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let stream = tokio::time::timeout(Duration::from_secs(20), control.open_stream(peer, protocol))
        .await
        .context("opening a Bitswap stream timed out")??;
    let mut sink = asynchronous_codec::FramedWrite::new(stream, bitswap::codec());
    sink.send(request).await?;
    let sent = Instant::now();
    sink.close().await?;
    let mut answers = Vec::new();
    loop {
        let left = max.saturating_sub(sent.elapsed());
        let wait = if answers.is_empty() {
            left
        } else {
            quiet.min(left)
        };
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some((at, message))) => answers.push(Answer {
                after: at.duration_since(sent),
                message,
            }),
            Ok(None) => break,
            Err(_) => break,
        }
        if sent.elapsed() >= max {
            break;
        }
    }
    driver.abort();
    reader.abort();
    if answers.is_empty() {
        bail!("no answer from the node within {max:?}");
    }
    Ok(answers)
}
