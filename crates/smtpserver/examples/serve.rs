//! Serves SMTP, Submission and Submissions from a mox.conf/domains.conf: the listeners,
//! accounts, TLS and checks as `mox serve` sets them up for these services. For the
//! benchmark (`bench/smtp`) and the crash test; `mox serve` runs the same code together with
//! the other services.
//!
//! ```text
//! cargo run --release -p smtpserver --example serve -- mox.conf [--dns-server 127.0.0.1:53]
//!     [--set-password account:password] [--unlimited] [--keep-accounts-open]
//! ```
//!
//! `--unlimited` lifts the connection and delivery rate limits (for load tests from one
//! address). `--keep-accounts-open` opens every configured account at start and holds it until
//! exit; otherwise an account is opened for each delivery and closed when the last handle goes,
//! and a delivery that opens it while another is still closing it gets a 451 (the store's
//! lock is taken per open; the benchmark hits that with 32 sessions). Stops on SIGTERM or SIGINT, giving connections 3 seconds to finish.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use smtpserver::Service;
use smtpserver::config_directory::ConfigDirectory;
use smtpserver::limits::{LimitSettings, Limits};
use smtpserver::listener::{serve_service, service_port};
use smtpserver::server::ConnectionIds;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // As `mox serve`: colours only on a terminal.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    if let Err(e) = run().await {
        eprintln!("serve: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut conf: Option<PathBuf> = None;
    let mut dns_server: Option<SocketAddr> = None;
    let mut passwords = Vec::new();
    let mut unlimited = false;
    let mut keep_accounts_open = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dns-server" => {
                dns_server = Some(args.next().ok_or("--dns-server needs an address")?.parse()?)
            }
            "--set-password" => {
                passwords.push(args.next().ok_or("--set-password needs account:password")?)
            }
            "--unlimited" => unlimited = true,
            "--keep-accounts-open" => keep_accounts_open = true,
            _ if conf.is_none() => conf = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a:?}").into()),
        }
    }
    let conf = conf.ok_or(
        "usage: serve mox.conf [--dns-server addr] [--set-password account:password] [--unlimited] [--keep-accounts-open]",
    )?;
    let config = Arc::new(config::load(&conf).map_err(|e| e.to_string())?);
    let accounts =
        Arc::new(runtime::Accounts::new(&config.data_dir, runtime::InitialMailboxes::default()));
    for p in passwords {
        let (account, password) =
            p.split_once(':').ok_or("--set-password needs account:password")?;
        accounts.set_password(account, password)?;
    }
    let mut open_accounts = Vec::new();
    if keep_accounts_open {
        for name in config.dynamic.accounts.keys() {
            open_accounts.push(accounts.open(name)?);
        }
    }
    let resolver: Arc<dyn dns::Resolver> = match dns_server {
        Some(addr) => Arc::new(dns::HickoryResolver::with_server(addr)?),
        None => Arc::new(dns::HickoryResolver::from_system_conf()?),
    };
    let directory = Arc::new(ConfigDirectory::fixed(config.clone(), accounts));
    let limits =
        Limits::new(if unlimited { LimitSettings::unlimited() } else { LimitSettings::default() });
    let mailer = Arc::new(smtpserver::Mailer::new(directory, resolver, limits.clone()));
    let ids = Arc::new(ConnectionIds::new());
    let shutdown = runtime::Shutdown::new();
    let mut tasks = Vec::new();
    for (name, listener) in &config.static_.listeners {
        let tls = match &listener.tls {
            Some(t) if !t.key_certs.is_empty() => {
                let pairs: Vec<runtime::tls::KeyCert> = t
                    .key_certs
                    .iter()
                    .map(|kc| runtime::tls::KeyCert {
                        cert_file: config.config_dir_path(&kc.cert_file),
                        key_file: config.config_dir_path(&kc.key_file),
                    })
                    .collect();
                Some(runtime::tls::server_config(&pairs, runtime::tls::MinVersion::default())?)
            }
            _ => None,
        };
        for service in [Service::Smtp, Service::Submission, Service::Submissions] {
            let Some(port) = service_port(listener, service) else { continue };
            for ip in &listener.ips {
                let tcp =
                    tokio::net::TcpListener::bind((ip.parse::<std::net::IpAddr>()?, port)).await?;
                eprintln!("listening for {} on {}", service.name(), tcp.local_addr()?);
                let (mailer, config, name, tls, limits, ids, shutdown) = (
                    mailer.clone(),
                    config.clone(),
                    name.clone(),
                    tls.clone(),
                    limits.clone(),
                    ids.clone(),
                    shutdown.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    serve_service(
                        mailer, &config, &name, service, tcp, tls, limits, None, ids, shutdown,
                    )
                    .await;
                }));
            }
        }
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    shutdown.trigger();
    let left = shutdown.drain(Duration::from_secs(3)).await;
    eprintln!("stopped, {left} connections cut off");
    drop(open_accounts);
    Ok(())
}
