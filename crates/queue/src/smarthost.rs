//! Delivery through a smarthost: mox's `SMTP` (port 25, typically relaying without
//! authentication), `Submission` (587, STARTTLS) and `Submissions` (465, TLS) transports.
//!
//! TLS is verified (PKIX, for the configured host name) unless the transport says
//! `STARTTLSInsecureSkipVerify` or `NoSTARTTLS`. With credentials, the mechanism is the first
//! of the configured list (by default SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS,
//! SCRAM-SHA-1, CRAM-MD5: never PLAIN unless listed) that the server offers; -PLUS variants
//! only with TLS. A message with REQUIRETLS is only sent over a verified connection.

use sasl::Mechanism;
use smtpclient::{AuthConfig, TlsMode};

use crate::deliver::{
    Attempt, Failure, Remote, Work, connect, establish, note_dialed, send_entries, tls_description,
};
use crate::settings::{Transport, TransportSmtp};
use crate::tls::{CertPolicy, PolicyVerifier};

/// Delivers `works` through the smarthost of `transport` (named `name`).
pub(crate) async fn deliver(
    attempt: &mut Attempt<'_>,
    works: &mut [Work],
    transport: &Transport,
    name: &str,
) {
    let (smtp, default_port, implicit) = match transport {
        Transport::Smtp(t) => (t, 25, false),
        Transport::Submission(t) => (t, 587, false),
        Transport::Submissions(t) => (t, 465, true),
        _ => return,
    };
    let fail_all = |works: &mut [Work], f: Failure| {
        for work in works.iter_mut().filter(|w| !w.done) {
            work.failure = Some(f.clone());
        }
    };
    let port = if smtp.port == 0 { default_port } else { smtp.port };
    let (tls_mode, verify) = tls_settings(smtp, implicit);
    let require_tls = works.iter().any(|w| w.entry.require_tls == Some(true));
    if require_tls && (!verify || tls_mode == TlsMode::Plaintext) {
        let f = Failure::coded(
            true,
            554,
            "5.7.30",
            format!(
                "transport {name}: message requires verified TLS (REQUIRETLS), but the transport does not verify TLS"
            ),
        );
        fail_all(works, f);
        return;
    }
    let host = smtp.host.ascii().to_string();
    let resolver = attempt.inner.resolver.clone();
    let ips = match resolver.lookup_ip(&smtp.host).await {
        Ok(lookup) => lookup.records,
        Err(e) => {
            fail_all(
                works,
                Failure::temporary(format!("transport {name}: looking up {host}: {e}")),
            );
            return;
        }
    };
    let Ok(server_name) = rustls::pki_types::ServerName::try_from(host.clone()) else {
        fail_all(
            works,
            Failure::temporary(format!("transport {name}: {host} is not a valid TLS server name")),
        );
        return;
    };
    let policy =
        if verify { CertPolicy::Pkix(attempt.inner.pkix_roots.clone()) } else { CertPolicy::Any };
    let mut last = Failure::temporary(format!("transport {name}: no addresses for {host}"));
    for ip in ips {
        if works.iter().all(|w| w.done) {
            return;
        }
        let stream = match connect(attempt, ip, port, None).await {
            Ok(s) => s,
            Err(f) => {
                last = Failure { message: format!("transport {name}: {}", f.message), ..f };
                continue;
            }
        };
        note_dialed(works, &host, ip);
        let verifier = PolicyVerifier::new(policy.clone(), false);
        let hostname = attempt.settings.hostname.clone();
        let mut client =
            match establish(attempt, stream, &hostname, tls_mode, &verifier, server_name.clone())
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    let f = Failure::from_smtp(&e, &host);
                    last = Failure { message: format!("transport {name}: {}", f.message), ..f };
                    continue;
                }
            };
        if let Some(auth) = &smtp.auth {
            let offered = &client.capabilities().auth;
            let tls = client.is_tls();
            let mechanism = auth
                .effective_mechanisms()
                .iter()
                .copied()
                .filter(|m| !m.is_plus() || tls)
                .find(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())));
            let Some(mechanism) = mechanism else {
                let listed: Vec<&str> =
                    auth.effective_mechanisms().iter().map(|m: &Mechanism| m.name()).collect();
                let f = Failure::permanent(format!(
                    "transport {name}: {host} offers none of the allowed authentication mechanisms {} (offered: {})",
                    listed.join(", "),
                    offered.join(", ")
                ));
                let _ = client.quit().await;
                fail_all(works, f);
                return;
            };
            let config = AuthConfig {
                username: auth.username.clone(),
                password: auth.password.clone(),
                mechanism: Some(mechanism),
                allow_password_without_tls: tls_mode == TlsMode::Plaintext,
            };
            if let Err(e) = client.authenticate(config).await {
                let f = Failure::from_smtp(&e, &host);
                fail_all(
                    works,
                    Failure {
                        message: format!("transport {name}: authentication: {}", f.message),
                        ..f
                    },
                );
                return;
            }
            tracing::debug!(transport = name, %host, mechanism = mechanism.name(), "queue: authenticated to smarthost");
        }
        let remote = Remote {
            host: Some(host.clone()),
            ip: Some(ip),
            tls: Some(tls_description(&client, &verifier)),
            relays_dsn: false,
        };
        match send_entries(attempt, &mut client, works, &remote).await {
            Ok(()) => {
                let _ = client.quit().await;
                return;
            }
            Err(f) => last = f,
        }
    }
    fail_all(works, last);
}

/// The TLS mode and whether the certificate is verified, from the transport's options.
fn tls_settings(smtp: &TransportSmtp, implicit: bool) -> (TlsMode, bool) {
    if implicit {
        (TlsMode::Implicit, true)
    } else if smtp.no_starttls {
        (TlsMode::Plaintext, false)
    } else if smtp.starttls_insecure_skip_verify {
        (TlsMode::StartTls, false)
    } else {
        (TlsMode::StartTls, true)
    }
}
