//! Network methods: peers, addresses, bans (Bitcoin Core's names, codes and shapes, with
//! libp2p peer ids and multiaddrs where Core has IP addresses).

use coinrs_net::ban::Subnet;
use coinrs_net::{AddNodeOp, DisconnectTarget, Handle};
use serde_json::{Value, json};

use crate::context::{NodeContext, now};
use crate::error::{RpcError, code};
use crate::params::Args;

fn net(ctx: &NodeContext) -> Result<&Handle, RpcError> {
    ctx.net.get().ok_or_else(|| {
        RpcError::new(
            code::CLIENT_P2P_DISABLED,
            "Error: Peer-to-peer functionality missing or disabled",
        )
    })
}

fn stopped(e: coinrs_net::NetError) -> RpcError {
    RpcError::new(code::MISC_ERROR, e.to_string())
}

pub fn getpeerinfo(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let shared = net(ctx)?.shared();
    let peers: Vec<Value> = shared
        .peers
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "peerid": p.peer_id.to_string(),
                "addr": p.addr.to_string(),
                "inbound": p.inbound,
                "connection": if p.relayed { "relayed" } else { "direct" },
                "synced_headers": p.synced_headers,
                "synced_blocks": p.synced_blocks,
                "conntime": p.conntime,
                "pingtime": p.ping_micros.map(|m| m as f64 / 1e6),
                "bytessent": p.bytes_sent,
                "bytesrecv": p.bytes_recv,
                "blocks_downloaded": p.blocks_downloaded,
                "inflight": p.blocks_in_flight,
                "subver": p.agent,
                "addnode": p.addnode,
                "ipfs": p.ipfs,
            })
        })
        .collect();
    Ok(Value::Array(peers))
}

pub fn getconnectioncount(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    Ok(json!(net(ctx)?.shared().peers.len()))
}

pub fn getnetworkinfo(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let handle = net(ctx)?;
    let shared = handle.shared();
    let bitswap = handle.bitswap_stats();
    let inbound = shared.peers.iter().filter(|p| p.inbound).count();
    let fee = ctx.mempool().policy().min_relay_fee_per_kb;
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "subversion": format!("/coinrs:{}/", env!("CARGO_PKG_VERSION")),
        "peerid": shared.peer_id.map(|p| p.to_string()),
        "localaddresses": shared.listen_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "connections": shared.peers.len(),
        "connections_in": inbound,
        "connections_out": shared.peers.len() - inbound,
        "networkactive": true,
        "reachability": shared.reachability.as_str(),
        "externaladdresses": shared.external_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "portmapping": shared.portmapping.iter().map(portmapping_json).collect::<Vec<_>>(),
        "relays": shared.relays.iter().map(|r| json!({
            "relay": r.relay.to_string(),
            "address": r.addr.to_string(),
            "reserved": r.reserved,
        })).collect::<Vec<_>>(),
        "relayservice": shared.relay_service_active,
        "holepunching": {
            "direct_upgrades": shared.hole_punch.direct_upgrades,
            "failures": shared.hole_punch.failures,
        },
        "bitswap": {
            "blocks_sent": bitswap.blocks_sent,
            "dont_have_sent": bitswap.dont_have_sent,
            "wants_dropped": bitswap.wants_dropped,
            "messages_dropped": bitswap.messages_dropped,
            "blocks_fetched": bitswap.blocks_fetched,
        },
        "relayfee": crate::json::amount(fee),
        "warnings": "",
    }))
}

/// One protocol's port mapping: `{protocol, external_address, external_port, private, error}`.
fn portmapping_json(m: &coinrs_net::portmap::MappingState) -> Value {
    json!({
        "protocol": m.protocol,
        "external_address": m.external.map(|(ip, _)| ip.to_string()),
        "external_port": m.external.map(|(_, port)| port),
        "private": m.external_private,
        "error": m.error,
    })
}

pub fn addnode(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let addr = coinrs_net::parse_peer_addr(args.str(0)?)
        .map_err(|e| RpcError::new(code::INVALID_PARAMETER, e.to_string()))?;
    let op = match args.str(1)? {
        "add" => AddNodeOp::Add,
        "remove" => AddNodeOp::Remove,
        "onetry" => AddNodeOp::OneTry,
        other => {
            return Err(RpcError::new(
                code::INVALID_PARAMETER,
                format!("Error: Command must be one of add, remove, onetry, not {other:?}"),
            ));
        }
    };
    match net(ctx)?.add_node(addr, op).map_err(stopped)? {
        Ok(()) => Ok(Value::Null),
        Err(msg) if op == AddNodeOp::Add => {
            Err(RpcError::new(code::CLIENT_NODE_ALREADY_ADDED, msg))
        }
        Err(msg) => Err(RpcError::new(code::CLIENT_NODE_NOT_ADDED, msg)),
    }
}

pub fn disconnectnode(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let target = match (args.get(0), args.get(1)) {
        (Some(Value::String(s)), _) if !s.is_empty() => {
            if let Ok(id) = s.parse::<coinrs_net::PeerId>() {
                DisconnectTarget::PeerId(id)
            } else {
                let addr = coinrs_net::parse_peer_addr(s)
                    .map_err(|e| RpcError::new(code::INVALID_PARAMETER, e.to_string()))?;
                DisconnectTarget::Addr(addr)
            }
        }
        (_, Some(Value::Number(n))) => DisconnectTarget::Id(
            n.as_u64()
                .ok_or_else(|| RpcError::invalid_parameter("id must be a non-negative integer"))?,
        ),
        (Some(Value::Number(n)), None) => DisconnectTarget::Id(
            n.as_u64()
                .ok_or_else(|| RpcError::invalid_parameter("id must be a non-negative integer"))?,
        ),
        _ => {
            return Err(RpcError::new(
                code::INVALID_PARAMETER,
                "Only one of address and nodeid should be provided.",
            ));
        }
    };
    if net(ctx)?.disconnect(target).map_err(stopped)? {
        Ok(Value::Null)
    } else {
        Err(RpcError::new(
            code::CLIENT_NODE_NOT_CONNECTED,
            "Node not found in connected nodes",
        ))
    }
}

pub fn setban(ctx: &NodeContext, args: &Args) -> Result<Value, RpcError> {
    let subnet = Subnet::parse(args.str(0)?)
        .map_err(|e| RpcError::new(code::CLIENT_INVALID_IP_OR_SUBNET, format!("Error: {e}")))?;
    let add = match args.str(1)? {
        "add" => true,
        "remove" => false,
        other => {
            return Err(RpcError::new(
                code::MISC_ERROR,
                format!("Error: command must be add or remove, not {other:?}"),
            ));
        }
    };
    let handle = net(ctx)?;
    let default = handle.bantime().as_secs();
    let bantime = args.u64_or(2, default)?;
    let absolute = args.bool_or(3, false)?;
    let bantime = if bantime == 0 { default } else { bantime };
    let until = if absolute { bantime } else { now() + bantime };
    match handle.set_ban(subnet, add, until).map_err(stopped)? {
        Ok(()) => Ok(Value::Null),
        Err(msg) => Err(RpcError::new(code::CLIENT_INVALID_IP_OR_SUBNET, msg)),
    }
}

pub fn listbanned(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    let now = now();
    let list = net(ctx)?.list_banned().map_err(stopped)?;
    Ok(Value::Array(
        list.into_iter()
            .map(|(subnet, e)| {
                json!({
                    "address": subnet.to_string(),
                    "ban_created": e.created,
                    "banned_until": e.until,
                    "ban_duration": e.until.saturating_sub(e.created),
                    "time_remaining": e.until.saturating_sub(now),
                    "reason": e.reason,
                })
            })
            .collect(),
    ))
}

pub fn clearbanned(ctx: &NodeContext, _: &Args) -> Result<Value, RpcError> {
    net(ctx)?.clear_banned().map_err(stopped)?;
    Ok(Value::Null)
}
