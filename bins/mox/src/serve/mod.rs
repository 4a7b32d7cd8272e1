//! `mox serve` and `mox localserve`: the configured listeners, the services on them, the
//! control socket, and an orderly stop.

pub(crate) mod ctl_server;
pub(crate) mod listen;
pub(crate) mod lock;
pub(crate) mod privileges;
