//! Integration tests of coinrsd through JSON-RPC (being written).
