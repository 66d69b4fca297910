//! Integration tests of the chain state on real redb files in temporary folders: forks,
//! reorganisations, orphans, invalid branches, invalidate/reconsider, tips, restart, reindex
//! and damaged or foreign stores.

mod addrindex;
mod cache;
mod disk_full;
mod fixture;
mod forks;
mod store;
