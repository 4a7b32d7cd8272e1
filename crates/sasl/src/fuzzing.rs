//! Entry points for the fuzz targets in `fuzz/` (not a stable API): every parser and state
//! machine fed arbitrary input must return errors, never panic.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use crate::{
    ChannelBinding, Client, DeriveParams, Mechanism, Secret, Server, ServerOptions, ServerStep,
    StoredCredentials,
};

/// The server side of a mechanism (picked by the first byte) fed the rest, split at `\n`,
/// as client messages; credentials are given whenever asked for.
pub fn server(data: &[u8]) {
    static CREDENTIALS: OnceLock<StoredCredentials> = OnceLock::new();
    let credentials = CREDENTIALS.get_or_init(|| {
        let cheap = DeriveParams {
            scram_iterations: NonZeroU32::MIN,
            argon2_memory_kib: 8,
            argon2_passes: 1,
        };
        StoredCredentials::derive_with("pencil", &cheap).unwrap_or_default()
    });
    let Some((&pick, rest)) = data.split_first() else { return };
    let mechanism = Mechanism::ALL[usize::from(pick) % Mechanism::ALL.len()];
    let options = ServerOptions {
        hostname: "fuzz.example".into(),
        channel_bindings: vec![ChannelBinding::tls_exporter(vec![0; 32])],
    };
    let Ok(mut server) = Server::new(mechanism, options) else { return };
    let mut messages = rest.split(|&b| b == b'\n');
    let mut input = messages.next();
    for _ in 0..8 {
        let step = match server.step(input) {
            Ok(ServerStep::NeedCredentials { .. }) => server.credentials(Some(credentials)),
            other => other,
        };
        match step {
            Ok(ServerStep::Challenge(_)) => match messages.next() {
                Some(next) => input = Some(next),
                None => return,
            },
            _ => return,
        }
    }
}

/// The client side of a mechanism (picked by the first byte) fed the rest, split at `\n`, as
/// server challenges.
pub fn client(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let mechanism = Mechanism::ALL[usize::from(pick) % Mechanism::ALL.len()];
    let binding = Some(ChannelBinding::tls_exporter(vec![0; 32]));
    let Ok(mut client) = Client::new(mechanism, "user", Secret::from("pencil"), binding) else {
        return;
    };
    let _ = client.initial_response();
    for challenge in rest.split(|&b| b == b'\n').take(8) {
        // Keep iteration counts the fuzzer invents cheap: skip challenges asking for many.
        if challenge
            .windows(8)
            .any(|w| w.starts_with(b"i=") && w[2..].iter().all(u8::is_ascii_digit))
        {
            return;
        }
        if client.step(challenge).is_err() {
            break;
        }
    }
    let _ = client.finish();
}

/// `tls-server-end-point` from arbitrary "certificate" bytes.
pub fn certificate(data: &[u8]) {
    let _ = ChannelBinding::tls_server_end_point(data);
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_points_hold_on_samples() {
        for pick in 0..8u8 {
            let mut data = vec![pick];
            data.extend_from_slice(b"n,,n=user,r=abc\nc=biws,r=abc,p=AAAA\n\n");
            super::server(&data);
            super::client(&data);
        }
        super::certificate(&[0x30, 0x03, 0x30, 0x01]);
    }
}
