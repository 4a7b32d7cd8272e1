//! A stand-alone IMAP server for the load scripts in `bench/imap/`: users `user<N>@bench`
//! with one password, accounts under a data directory, a STARTTLS-capable plain port and an
//! implicit-TLS port with a self-signed certificate (written as PEM for the clients).
//!
//! ```text
//! imap_bench_server DATADIR [--users N] [--populate MESSAGES] [--cheap-credentials]
//! ```
//! Prints `ports <plain> <tls>` when listening; stops when stdin closes.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use imapserver::Config;
use imapserver::server::{ListenerConfig, serve};
use imapserver::session::{MemoryAuthenticator, SimpleLoginLimiter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).ok_or("usage: imap_bench_server DATADIR ...")?);
    let opt =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let users: usize = opt("--users").map_or(Ok(100), |s| s.parse())?;
    let populate: u64 = opt("--populate").map_or(Ok(0), |s| s.parse())?;
    let cheap = args.iter().any(|a| a == "--cheap-credentials");
    std::fs::create_dir_all(&dir)?;

    let auth = Arc::new(MemoryAuthenticator::new(dir.join("accounts")));
    let params = if cheap {
        sasl::DeriveParams {
            scram_iterations: std::num::NonZeroU32::new(64).ok_or("iterations")?,
            argon2_memory_kib: 256,
            argon2_passes: 1,
        }
    } else {
        sasl::DeriveParams::default()
    };
    // Credentials for all users at once: derive once, the same password for everyone.
    let t = Instant::now();
    for i in 0..users {
        auth.add_user(&format!("user{i}@bench"), &format!("user{i}"), "benchpassword", &params)?;
    }
    eprintln!("{users} users in {:?}", t.elapsed());

    if populate > 0 {
        populate_account(&dir, populate)?;
    }

    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])?.self_signed(&key)?;
    std::fs::write(dir.join("cert.pem"), cert.pem())?;
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )?;
    let tls = Arc::new(tls);
    let session = Arc::new(Config {
        hostname: "localhost".into(),
        authenticator: auth.clone(),
        login_limiter: Arc::new(SimpleLoginLimiter::default()),
        limits: Default::default(),
        append_limit: None,
        // The load scripts compare plain IMAP with Dovecot's; the idle test uses TLS.
        allow_plaintext_auth: true,
    });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let implicit = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("ports {} {}", plain.local_addr()?.port(), implicit.local_addr()?.port());
        std::io::stdout().flush()?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut a = ListenerConfig::new(session.clone(), Some(tls.clone()), false);
        let mut b = ListenerConfig::new(session, Some(tls), true);
        a.max_connections = 100_000;
        b.max_connections = 100_000;
        let servers = tokio::spawn(async move {
            tokio::join!(serve(plain, Arc::new(a), rx.clone()), serve(implicit, Arc::new(b), rx));
        });
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().lock().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                line.clear();
            }
        })
        .await?;
        let _ = tx.send(true);
        let _ = servers.await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}

/// Gives `user0` a mailbox `Big` with `n` small messages, through the store's mbox import
/// (batched transactions), unless it has them already.
fn populate_account(dir: &std::path::Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let account = store::Account::open_or_create(&dir.join("accounts/user0"))?;
    if account.mailbox("Big")?.is_some_and(|m| m.counts.messages >= n) {
        eprintln!("Big already has {n} messages");
        return Ok(());
    }
    let mbox = dir.join("big.mbox");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&mbox)?);
        for i in 0..n {
            write!(
                w,
                "From sender@example.org Mon Jan  1 00:00:00 2024\nFrom: sender@example.org\nSubject: message {i}\n\nbody {i}\n\n"
            )?;
        }
    }
    let t = Instant::now();
    let summary = store::import::import_mbox(&account, "Big", &mbox, &store::NoProgress)?;
    std::fs::remove_file(&mbox)?;
    eprintln!("imported {} messages in {:?}", summary.messages, t.elapsed());
    Ok(())
}
