//! The block tree as SVG: one column per height over the last N heights, the active chain
//! on the first row, every other branch on a row of its own (a branch continues on its
//! parent's row while it has one child), lines from each block to its parent, and each
//! block coloured by what the node knows of it: active, valid but stale, not yet validated,
//! header only, invalid (a rule broken, `invalidateblock`, or an invalid ancestor).

use std::collections::HashMap;

use coinrs_chain::Chain;
use coinrs_chain::index::{IndexEntry, Validity};
use coinrs_core::BlockHash;
use maud::{Markup, html};

/// Most heights drawn (`/tree?n=`).
pub const MAX_HEIGHTS: u64 = 500;
/// Most rows drawn: branches beyond are counted, not drawn.
const MAX_ROWS: usize = 40;

const CELL_W: u64 = 64;
const CELL_H: u64 = 44;
const BOX_W: u64 = 52;
const BOX_H: u64 = 28;

/// What the node knows of a block, for colour and legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Active,
    Stale,
    Pending,
    HeaderOnly,
    Invalid,
}

impl Kind {
    pub fn of(chain: &Chain, hash: &BlockHash, e: &IndexEntry) -> Kind {
        if chain.is_active(hash) {
            Kind::Active
        } else if e.validity.is_invalid() {
            Kind::Invalid
        } else if !e.has_data {
            Kind::HeaderOnly
        } else if e.validity == Validity::Valid {
            Kind::Stale
        } else {
            Kind::Pending
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Kind::Active => "active",
            Kind::Stale => "stale",
            Kind::Pending => "pending",
            Kind::HeaderOnly => "headers",
            Kind::Invalid => "invalid",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Active => "active chain",
            Kind::Stale => "valid, stale branch",
            Kind::Pending => "stored, not validated",
            Kind::HeaderOnly => "header only",
            Kind::Invalid => "invalid",
        }
    }
}

/// Counts of what was drawn, for the text beside the picture.
#[derive(Debug, Default)]
pub struct TreeStats {
    pub blocks: usize,
    pub forks: usize,
    pub invalid: usize,
    pub hidden_rows: usize,
    pub from: u64,
    pub to: u64,
}

/// The tree over the last `n` heights (up to the highest known block).
pub fn draw(chain: &Chain, n: u64) -> (Markup, TreeStats) {
    let n = n.clamp(1, MAX_HEIGHTS);
    // The top is the highest block known (a heavier-looking invalid or header-only branch
    // can reach above the tip), found among blocks near the tip.
    let near = chain.entries_from_height(chain.height().saturating_sub(n - 1));
    let top = near
        .iter()
        .map(|(_, e)| e.height())
        .max()
        .unwrap_or(chain.height());
    let from = top.saturating_sub(n - 1);
    let mut blocks: Vec<(BlockHash, &IndexEntry)> = near
        .into_iter()
        .filter(|(_, e)| e.height() >= from)
        .collect();
    blocks.sort_by_key(|(h, e)| (e.height(), !chain.is_active(h), e.seq, *h));

    let mut row_of: HashMap<BlockHash, usize> = HashMap::new();
    // The height each row is used up to, so a new branch takes a free row.
    let mut row_end: Vec<u64> = vec![u64::MAX];
    let mut children_seen: HashMap<BlockHash, usize> = HashMap::new();
    let mut stats = TreeStats {
        from,
        to: top,
        ..TreeStats::default()
    };
    let mut drawn = Vec::new();
    for (hash, e) in &blocks {
        let kind = Kind::of(chain, hash, e);
        let parent = e.header.prev_hash;
        let siblings_before = {
            let c = children_seen.entry(parent).or_insert(0);
            *c += 1;
            *c - 1
        };
        let row = if kind == Kind::Active {
            0
        } else {
            match row_of.get(&parent) {
                Some(&r) if siblings_before == 0 && r != 0 => r,
                _ => {
                    stats.forks += 1;
                    match (1..row_end.len()).find(|&r| row_end[r] < e.height().saturating_sub(1)) {
                        Some(r) => r,
                        None => {
                            row_end.push(0);
                            row_end.len() - 1
                        }
                    }
                }
            }
        };
        if row != 0 {
            row_end[row] = e.height();
        }
        row_of.insert(*hash, row);
        if row >= MAX_ROWS {
            stats.hidden_rows = stats.hidden_rows.max(row + 1 - MAX_ROWS);
            continue;
        }
        stats.blocks += 1;
        if kind == Kind::Invalid {
            stats.invalid += 1;
        }
        drawn.push((*hash, e.height(), parent, row, kind));
    }
    let rows = drawn.iter().map(|d| d.3 + 1).max().unwrap_or(1) as u64;
    let width = (top - from + 1) * CELL_W + 16;
    let height = rows * CELL_H + 8;
    let x = |h: u64| 8 + (h - from) * CELL_W;
    let y = |r: usize| 6 + r as u64 * CELL_H;
    let svg = html! {
        svg.tree xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } role="img"
            aria-label={ "block tree from height " (from) " to " (top) } {
            @for (_, h, parent, row, _) in &drawn {
                @if let Some(&prow) = row_of.get(parent) {
                    @if prow < MAX_ROWS && *h > from {
                        line.edge x1=(x(h - 1) + BOX_W) y1=(y(prow) + BOX_H / 2)
                            x2=(x(*h)) y2=(y(*row) + BOX_H / 2) {}
                    }
                }
            }
            @for (hash, h, _, row, kind) in &drawn {
                a href={ "/block/" (hash) } {
                    rect class={ "blk " (kind.class()) } x=(x(*h)) y=(y(*row))
                        width=(BOX_W) height=(BOX_H) rx="4" {
                        title { (h) " " (hash) " (" (kind.label()) ")" }
                    }
                    text x=(x(*h) + BOX_W / 2) y=(y(*row) + BOX_H / 2 + 4) text-anchor="middle" {
                        (h)
                    }
                }
            }
        }
    };
    (svg, stats)
}

/// The colour legend.
pub fn legend() -> Markup {
    html! {
        ul.legend {
            @for k in [Kind::Active, Kind::Stale, Kind::Pending, Kind::HeaderOnly, Kind::Invalid] {
                li { span class={ "swatch " (k.class()) } {} (k.label()) }
            }
        }
    }
}
