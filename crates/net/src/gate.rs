//! A behaviour that refuses connections to and from banned addresses before any protocol
//! runs on them (the ban list itself lives in [`crate::ban`]; the event loop shares the
//! current subnets with this gate).

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use crate::ban::Subnet;
use crate::config::multiaddr_ip;

/// The subnets banned now, shared between the event loop (writer) and the gate (reader).
pub type BannedSubnets = Arc<RwLock<Vec<Subnet>>>;

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("address {0} is banned")]
pub struct Banned(pub String);

/// The gate.
#[derive(Debug, Default)]
pub struct Gate {
    banned: BannedSubnets,
}

impl Gate {
    /// A gate reading `banned`.
    pub fn new(banned: BannedSubnets) -> Self {
        Gate { banned }
    }

    fn check(&self, addr: &Multiaddr) -> Result<(), ConnectionDenied> {
        let Some(ip) = multiaddr_ip(addr) else {
            return Ok(());
        };
        let banned = self.banned.read().unwrap_or_else(|p| p.into_inner());
        if banned.iter().any(|s| s.contains(&ip)) {
            return Err(ConnectionDenied::new(Banned(addr.to_string())));
        }
        Ok(())
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check(remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(remote_addr)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: Option<PeerId>,
        addresses: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        for a in addresses {
            self.check(a)?;
        }
        Ok(vec![])
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        addr: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(addr)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        e: THandlerOutEvent<Self>,
    ) {
        match e {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_banned_addresses_only() {
        let banned: BannedSubnets = Arc::default();
        let gate = Gate::new(Arc::clone(&banned));
        let bad: Multiaddr = "/ip4/127.0.0.2/tcp/5".parse().unwrap();
        let good: Multiaddr = "/ip4/127.0.0.1/tcp/5".parse().unwrap();
        assert!(gate.check(&bad).is_ok());
        banned
            .write()
            .unwrap()
            .push(Subnet::parse("127.0.0.2").unwrap());
        assert!(gate.check(&bad).is_err());
        assert!(gate.check(&good).is_ok());
    }
}
