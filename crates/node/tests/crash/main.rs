//! SIGKILL crash tests (being written).
