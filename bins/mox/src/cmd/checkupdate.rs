//! `mox checkupdate`: is a newer release out? One DNS TXT lookup, then the signed changelog.
//!
//! mox's scheme: the TXT record `_updates.<release domain>` holds `v=UPDATES0; l=v0.0.17`
//! (the latest version). When that is newer than this build, the changelog is fetched from
//! `<changelog URL>?from=<this version>` as JSON (`{"Changes": [{"PubKey": base64, "Sig":
//! base64, "Text": "..."}]}`, newest first), and every entry must be signed (Ed25519, over
//! Text) with the release key built in (or configured).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::cmd::Run;
use crate::context::Context;

/// Check if a newer version of mox is available.
///
/// A single DNS TXT lookup to _updates.<release domain> tells if a new version is available. If
/// so, a changelog is fetched from the changelog URL, and the individual entries verified with
/// a builtin public key. The changelog is printed.
///
/// mox-rs has no release domain of its own yet, so none is built in: set it with
/// $MOX_UPDATES_DOMAIN (the TXT record is looked up at _updates.DOMAIN), the changelog URL with
/// $MOX_UPDATES_CHANGELOG_URL (default https://updates.DOMAIN/changelog) and the base64
/// Ed25519 public key that signs changelog entries with $MOX_UPDATES_PUBKEY. The record is
/// "v=UPDATES0; l=vX.Y.Z", as mox publishes for its own releases. The lookup uses the resolver
/// of -dns-server.
#[derive(Debug, clap::Args)]
pub(crate) struct Checkupdate {}

/// Where updates are announced: from the build (MOXRS_UPDATES_* at compile time) or the
/// environment.
#[derive(Debug, Clone)]
struct Source {
    domain: dns::Domain,
    changelog_url: String,
    public_key: Vec<u8>,
}

impl Run for Checkupdate {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let source = source()?;
        let current = Version::parse(env!("CARGO_PKG_VERSION")).context("version of this build")?;
        let resolver = ctx.resolver()?;
        let latest = lookup(resolver.as_ref(), &source.domain).await?;
        let mut out = ctx.stdout();
        writeln!(out, "current version: {current}")?;
        writeln!(out, "latest version: {latest}")?;
        if latest <= current {
            return Ok(());
        }
        let changes = fetch_changelog(&source, current).await?;
        if changes.is_empty() {
            tracing::info!("no changes in changelog");
            return Ok(());
        }
        writeln!(out, "Changelog")?;
        for text in changes {
            writeln!(out, "\n{}", text.trim())?;
        }
        Ok(())
    }
}

fn source() -> anyhow::Result<Source> {
    let setting = |env: &str, built: Option<&'static str>| {
        std::env::var(env).ok().filter(|v| !v.is_empty()).or(built.map(String::from))
    };
    let Some(domain) = setting("MOX_UPDATES_DOMAIN", option_env!("MOXRS_UPDATES_DOMAIN")) else {
        anyhow::bail!(
            "no release domain to check: this build of mox-rs has none built in; set $MOX_UPDATES_DOMAIN (and $MOX_UPDATES_PUBKEY)"
        );
    };
    let domain = dns::Domain::parse(&domain)
        .map_err(|e| anyhow::anyhow!("MOX_UPDATES_DOMAIN {domain:?}: {e}"))?;
    let changelog_url =
        setting("MOX_UPDATES_CHANGELOG_URL", option_env!("MOXRS_UPDATES_CHANGELOG_URL"))
            .unwrap_or_else(|| format!("https://updates.{}/changelog", domain.ascii()));
    let key = setting("MOX_UPDATES_PUBKEY", option_env!("MOXRS_UPDATES_PUBKEY"))
        .ok_or_else(|| anyhow::anyhow!("no public key for the changelog: set $MOX_UPDATES_PUBKEY"))?;
    let public_key = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|e| anyhow::anyhow!("MOX_UPDATES_PUBKEY: {e}"))?;
    if public_key.len() != 32 {
        anyhow::bail!("MOX_UPDATES_PUBKEY: an Ed25519 public key has 32 bytes, not {}", public_key.len());
    }
    Ok(Source { domain, changelog_url, public_key })
}

/// A release version, `vMAJOR.MINOR.PATCH` (a `-suffix` is ignored, as mox does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(u32, u32, u32);

impl Version {
    pub(crate) fn parse(s: &str) -> anyhow::Result<Version> {
        let s = s.trim().trim_start_matches('v');
        let s = s.split('-').next().unwrap_or_default();
        let parts: Vec<&str> = s.split('.').collect();
        let [a, b, c] = parts[..] else {
            anyhow::bail!("malformed version {s:?}: not three numbers");
        };
        let n = |p: &str| p.parse::<u32>().map_err(|e| anyhow::anyhow!("malformed version {s:?}: {e}"));
        Ok(Version(n(a)?, n(b)?, n(c)?))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Parses an `_updates` record: `None` if it is not one (`v=UPDATES0` must come first), else
/// its latest version, or the syntax error.
pub(crate) fn parse_record(txt: &str) -> Option<anyhow::Result<Version>> {
    let mut parts = txt.split(';');
    let first = parts.next().unwrap_or_default().trim();
    let (k, v) = first.split_once('=')?;
    if k != "v" || !v.eq_ignore_ascii_case("UPDATES0") {
        return None;
    }
    let mut latest = None;
    let mut seen = std::collections::HashSet::new();
    for part in parts {
        let Some((k, v)) = part.trim().split_once('=') else {
            return Some(Err(anyhow::anyhow!("updates: dns record syntax: {part:?} is not key=value")));
        };
        let k = k.to_ascii_lowercase();
        if !seen.insert(k.clone()) {
            return Some(Err(anyhow::anyhow!("updates: dns record syntax: duplicate key {k:?}")));
        }
        if k == "l" {
            match Version::parse(v) {
                Ok(version) => latest = Some(version),
                Err(e) => return Some(Err(e.context("updates: dns record syntax"))),
            }
        }
    }
    Some(latest.ok_or_else(|| anyhow::anyhow!("updates: dns record syntax: no l= (latest version)")))
}

async fn lookup(resolver: &dyn dns::Resolver, domain: &dns::Domain) -> anyhow::Result<Version> {
    let name = crate::dns_records::prefixed("_updates", domain)?;
    let txts = match tokio::time::timeout(Duration::from_secs(30), resolver.lookup_txt(&name)).await
    {
        Err(_) => anyhow::bail!("updates: dns error: lookup of {} timed out", name.ascii()),
        Ok(Err(e)) if e.is_not_found() => anyhow::bail!("updates: no dns record at {}", name.ascii()),
        Ok(Err(e)) => return Err(anyhow::Error::new(e).context("updates: dns error")),
        Ok(Ok(l)) => l.records,
    };
    let mut found = None;
    for txt in &txts {
        match parse_record(txt) {
            None => continue,
            Some(Err(e)) => return Err(e),
            Some(Ok(v)) if found.is_none() => found = Some(v),
            Some(Ok(_)) => anyhow::bail!("updates: multiple dns records at {}", name.ascii()),
        }
    }
    found.ok_or_else(|| anyhow::anyhow!("updates: no dns record at {}", name.ascii()))
}

#[derive(Debug, serde::Deserialize)]
struct Changelog {
    #[serde(rename = "Changes", default)]
    changes: Vec<Change>,
}

#[derive(Debug, serde::Deserialize)]
struct Change {
    #[serde(rename = "PubKey")]
    public_key: String,
    #[serde(rename = "Sig")]
    signature: String,
    #[serde(rename = "Text")]
    text: String,
}

/// The changelog since `base`, every entry's signature checked: the texts, newest first.
async fn fetch_changelog(source: &Source, base: Version) -> anyhow::Result<Vec<String>> {
    let url = format!("{}?from={base}", source.changelog_url);
    let body = tokio::time::timeout(Duration::from_secs(60), http_get(&url))
        .await
        .map_err(|_| anyhow::anyhow!("updates: fetching changelog {url}: timeout"))?
        .with_context(|| format!("updates: fetching changelog {url}"))?;
    let changelog: Changelog = serde_json::from_slice(&body).context("updates: parsing changelog")?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut texts = Vec::new();
    for change in changelog.changes {
        let key = b64.decode(&change.public_key).context("updates: changelog PubKey")?;
        if key != source.public_key {
            anyhow::bail!(
                "updates: verifying change: signed with unknown public key {} instead of {}",
                hex(&key),
                hex(&source.public_key)
            );
        }
        let signature = b64.decode(&change.signature).context("updates: changelog Sig")?;
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key)
            .verify(change.text.as_bytes(), &signature)
            .map_err(|_| anyhow::anyhow!("updates: verifying change: invalid signature for change"))?;
        texts.push(change.text);
    }
    Ok(texts)
}

/// GET `url` (https; http only to a loopback address, for tests), at most 1 MiB of body.
async fn http_get(url: &str) -> anyhow::Result<Vec<u8>> {
    let uri: hyper::Uri = url.parse().context("changelog URL")?;
    let host = uri.host().ok_or_else(|| anyhow::anyhow!("no host in URL"))?.to_string();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = bare == "localhost"
                || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                anyhow::bail!("changelog URL must be https");
            }
            false
        }
        _ => anyhow::bail!("changelog URL must be https"),
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .with_context(|| format!("connecting to {host}:{port}"))?;
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, &host)
        .header(hyper::header::USER_AGENT, concat!("mox-rs/", env!("CARGO_PKG_VERSION")))
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    if https {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.clone())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await?;
        send(TokioIo::new(tls), request).await
    } else {
        send(TokioIo::new(tcp), request).await
    }
}

async fn send<T>(io: T, request: hyper::Request<Empty<Bytes>>) -> anyhow::Result<Vec<u8>>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    let connection = tokio::spawn(connection);
    let response = sender.send_request(request).await;
    let result = async {
        let response = response?;
        if response.status() != hyper::StatusCode::OK {
            anyhow::bail!("http status: {}", response.status());
        }
        let body = Limited::new(response.into_body(), 1024 * 1024)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading body: {e}"))?;
        Ok(body.to_bytes().to_vec())
    }
    .await;
    connection.abort();
    result
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_versions_as_mox_reads_them() {
        assert_eq!(parse_record("v=UPDATES0; l=v0.0.17").unwrap().unwrap(), Version(0, 0, 17));
        assert_eq!(parse_record("v=updates0;l=v1.2.3-beta").unwrap().unwrap(), Version(1, 2, 3));
        assert!(parse_record("v=spf1 -all").is_none());
        assert!(parse_record("l=v1.2.3; v=UPDATES0").is_none(), "v= must come first");
        assert!(parse_record("v=UPDATES0; l=v1.2").unwrap().is_err());
        assert!(parse_record("v=UPDATES0; l=v1.2.3; l=v1.2.4").unwrap().is_err());
        assert!(parse_record("v=UPDATES0; junk").unwrap().is_err());
        assert!(Version(0, 1, 0) < Version(0, 1, 1) && Version(0, 9, 9) < Version(1, 0, 0));
        assert_eq!(Version::parse("0.1.0").unwrap().to_string(), "v0.1.0");
    }
}
