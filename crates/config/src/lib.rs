//! mox's configuration files, read and written unchanged: `mox.conf` (the static
//! configuration, [`Static`]) and `domains.conf` (the dynamic configuration, [`Dynamic`]).
//!
//! TODO: full documentation.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dynamic_config;
mod error;
pub(crate) mod sconf;
mod static_config;
mod types;

pub use dynamic_config::*;
pub use error::{ConfigError, ConfigErrors, ErrorKind, WriteError};
pub use static_config::*;
pub(crate) use types::unset_domain;
pub use types::{AddressAlias, AliasAddress, Regex, TlsVersion};
mod files;

pub use files::{
    describe_domains, describe_static, dynamic_to_string, parse_dynamic, parse_static,
    static_to_string, write_dynamic,
};
