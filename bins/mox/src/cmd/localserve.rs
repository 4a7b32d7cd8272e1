//! `mox localserve`: a complete local mail server for developing and testing software that
//! sends or reads email, with a configuration made on first run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::cmd::Run;
use crate::context::Context;
use crate::serve::{self, ServeOptions};

/// The account localserve creates, its address and password.
pub(crate) const ACCOUNT: &str = "mox";
pub(crate) const ADDRESS: &str = "mox@localhost";
pub(crate) const PASSWORD: &str = "moxmoxmox";
/// The admin password localserve writes (hash) to adminpasswd.
pub(crate) const ADMIN_PASSWORD: &str = "moxadmin";

/// Start a local SMTP/IMAP server that accepts all messages, useful when testing/developing
/// software that sends email.
///
/// Localserve starts mox with a configuration suitable for local email-related software
/// development/testing. It listens for SMTP/Submission(s), IMAP(s) and HTTP(s), on the
/// regular port numbers + 1000.
///
/// Data is stored in the system user's configuration directory under "mox-localserve", e.g.
/// $HOME/.config/mox-localserve/ on linux, but can be overridden with the -dir flag. If the
/// directory does not yet exist, it is automatically initialized with configuration files,
/// an account with email address mox@localhost and password moxmoxmox, and a newly generated
/// self-signed TLS certificate.
///
/// Incoming messages are delivered as normal, falling back to accepting and delivering to the
/// mox account for unknown addresses. Submitted messages are accepted, and delivered to the
/// mox account too: nothing leaves the machine.
///
/// Recipient addresses with the following localpart suffixes are handled specially:
///
/// - "temperror": fail with a temporary error code
/// - "permerror": fail with a permanent error code
/// - [45][0-9][0-9]: fail with the specific error code
/// - "timeout": no response (for an hour)
///
/// If the localpart begins with "mailfrom" or "rcptto", the error is returned during those
/// commands instead of during "data".
///
/// The configuration files are those mox writes for localserve, so the same directory also
/// works with mox itself.
#[derive(Debug, clap::Args)]
#[command(override_usage = "mox localserve [-dir dir] [-ip ip] [-initonly]")]
pub(crate) struct Localserve {
    /// Configuration storage directory; default $HOME/.config/mox-localserve.
    #[arg(long, value_name = "dir")]
    dir: Option<PathBuf>,
    /// Serve on this IP instead of the default 127.0.0.1 and ::1; only used when writing the
    /// configuration, at first launch.
    #[arg(long, value_name = "ip")]
    ip: Option<std::net::IpAddr>,
    /// Write the configuration files and exit.
    #[arg(long)]
    initonly: bool,
}

impl Run for Localserve {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let dir = match self.dir {
            Some(d) => d,
            None => default_dir()?,
        };
        let existing = dir.exists();
        if self.initonly {
            if existing {
                tracing::warn!(dir = %dir.display(), "directory for configuration files already exists, continuing");
            }
            write_config(&dir, self.ip).await?;
            return Ok(());
        }
        if existing {
            if self.ip.is_some() {
                anyhow::bail!("can only use -ip when writing a new config (directory {} exists)", dir.display());
            }
        } else {
            write_config(&dir, self.ip).await?;
        }
        let resolver = ctx.resolver()?;
        serve::serve(ServeOptions {
            config_path: dir.join("mox.conf"),
            mode: runtime::Mode::Localserve,
            resolver,
            drop_privileges: false,
            on_ready: Some(Box::new(move |config| print_intro(config, &dir, existing))),
        })
        .await
    }
}

/// `$HOME/.config/mox-localserve` (XDG_CONFIG_HOME honoured, as Go's os.UserConfigDir).
fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("mox-localserve"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow::anyhow!("neither $XDG_CONFIG_HOME nor $HOME is set; use -dir"))?;
    Ok(PathBuf::from(home).join(".config/mox-localserve"))
}

/// Writes a new localserve configuration to `dir` (which must not exist or be empty): TLS
/// key and self-signed certificate, admin password, mox.conf, domains.conf with a DKIM key,
/// and the account with its password. On failure nothing is left behind.
pub(crate) async fn write_config(dir: &Path, ip: Option<std::net::IpAddr>) -> anyhow::Result<()> {
    let d = dir.to_path_buf();
    let result = tokio::task::spawn_blocking(move || write_config_files(&d, ip)).await?;
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(dir);
        return Err(e.context(format!("creating mox localserve config in {}", dir.display())));
    }
    tracing::info!(dir = %dir.display(), "config created");
    Ok(())
}

fn write_config_files(dir: &Path, ip: Option<std::net::IpAddr>) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} exists and is not empty", dir.display());
    }
    create_private_dir(dir)?;
    let write = |name: &str, data: &[u8]| -> anyhow::Result<()> {
        write_private(&dir.join(name), data).with_context(|| format!("writing {name}"))
    };

    let (cert, key) = runtime::tls::self_signed(&["localhost".to_string()])?;
    write("localhost.key", key.as_bytes())?;
    write("localhost.crt", cert.as_bytes())?;
    let admin_hash = bcrypt::hash(ADMIN_PASSWORD, bcrypt::DEFAULT_COST).context("hashing admin password")?;
    write("adminpasswd", admin_hash.as_bytes())?;

    let ips = match ip {
        Some(ip) => vec![ip.to_string()],
        None => vec!["127.0.0.1".to_string(), "::1".to_string()],
    };
    write("mox.conf", config::static_to_string(&static_config(ips))?.as_bytes())?;

    let dkim_key = dkim::PrivateKey::generate_ed25519()?;
    let dkim_file = "dkim.localserve.privatekey.pkcs8.pem";
    write(dkim_file, dkim_key.to_pem().as_bytes())?;
    write("domains.conf", config::dynamic_to_string(&dynamic_config(dkim_file))?.as_bytes())?;

    let mut receivedid = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut receivedid)
        .map_err(|_| anyhow::anyhow!("no randomness for receivedid.key"))?;
    write("receivedid.key", &receivedid)?;

    // The account, with its password, through the same code the server uses.
    let config = config::load(&dir.join("mox.conf"))
        .map_err(|e| anyhow::anyhow!("the generated configuration does not load:\n{e}"))?;
    let accounts =
        runtime::Accounts::new(&config.data_dir, runtime::initial_mailboxes(&config.static_));
    accounts.set_password(ACCOUNT, PASSWORD)?;
    Ok(())
}

/// mox.conf as mox's localserve writes it.
fn static_config(ips: Vec<String>) -> config::Static {
    use config::*;
    let mut l = Listener { ips, ..Listener::default() };
    l.tls = Some(Tls {
        key_certs: vec![KeyCert { cert_file: "localhost.crt".into(), key_file: "localhost.key".into() }],
        ..Tls::default()
    });
    l.smtp.enabled = true;
    l.smtp.port = Some(1025);
    l.submission.enabled = true;
    l.submission.port = Some(1587);
    l.submission.no_require_starttls = true;
    l.submissions.enabled = true;
    l.submissions.port = Some(1465);
    l.imap.enabled = true;
    l.imap.port = Some(1143);
    l.imap.no_require_starttls = true;
    l.imaps.enabled = true;
    l.imaps.port = Some(1993);
    for (web, port, path) in [
        (&mut l.account_http, 1080, Some("/account/")),
        (&mut l.account_https, 1443, Some("/account/")),
        (&mut l.webmail_http, 1080, Some("/webmail/")),
        (&mut l.webmail_https, 1443, Some("/webmail/")),
        (&mut l.webapi_http, 1080, Some("/webapi/")),
        (&mut l.webapi_https, 1443, Some("/webapi/")),
        (&mut l.admin_http, 1080, None),
        (&mut l.admin_https, 1443, None),
    ] {
        web.enabled = true;
        web.port = Some(port);
        web.path = path.map(String::from);
    }
    l.metrics_http.enabled = true;
    l.metrics_http.port = Some(1081);
    l.webserver_http.enabled = true;
    l.webserver_http.port = Some(1080);
    l.webserver_https.enabled = true;
    l.webserver_https.port = Some(1443);

    let mut s = Static {
        data_dir: ".".into(),
        log_level: "traceauth".into(),
        hostname: "localhost".into(),
        user: Some(nix::unistd::Uid::current().as_raw().to_string()),
        admin_password_file: Some("adminpasswd".into()),
        pedantic: true,
        ..Static::default()
    };
    s.listeners.insert("local".into(), l);
    s.tls.ca = Some(TlsCa { additional_to_system: true, cert_files: vec!["localhost.crt".into()] });
    s.postmaster.account = ACCOUNT.into();
    s.postmaster.mailbox = "Inbox".into();
    s
}

/// domains.conf as mox's localserve writes it.
fn dynamic_config(dkim_file: &str) -> config::Dynamic {
    use config::*;
    let address = message::Address::parse(ADDRESS).expect("a valid constant address");
    let mut account = config::edit::new_account(&address);
    account.keep_retired_message_period = Some(Duration::from_secs(72 * 3600));
    account.keep_retired_webhook_period = Some(Duration::from_secs(72 * 3600));
    account.no_first_time_sender_delay = true;
    account.no_custom_password = false;
    account.subject_pass = SubjectPass::default();
    let mut domain = Domain {
        localpart_catchall_separator: Some("+".into()),
        ..Domain::default()
    };
    domain.dkim.sign = vec!["localserve".into()];
    domain.dkim.selectors.insert(
        "localserve".into(),
        Selector {
            expiration: Some("72h".into()),
            private_key_file: dkim_file.into(),
            ..Selector::default()
        },
    );
    let mut d = Dynamic::default();
    d.domains.insert("localhost".into(), domain);
    d.accounts.insert(ACCOUNT.into(), account);
    d.web_handlers.push(WebHandler {
        log_name: Some("workdir".into()),
        domain: "localhost".into(),
        path_regexp: "^/workdir/".into(),
        dont_redirect_plain_http: true,
        web_static: Some(WebStatic {
            strip_prefix: Some("/workdir/".into()),
            root: ".".into(),
            list_files: true,
            ..WebStatic::default()
        }),
        ..WebHandler::default()
    });
    d
}

/// What localserve prints once it serves (to stderr, like mox).
fn print_intro(config: &config::Config, dir: &Path, existing: bool) {
    let lines = [
        format!("mox-rs {} (localserve)", env!("CARGO_PKG_VERSION")),
        String::new(),
        format!("the default user is {ADDRESS}, with password {PASSWORD}"),
        format!("the default admin password is {ADMIN_PASSWORD} (no web admin in mox-rs yet)"),
        "port numbers are those common for the services + 1000".into(),
        format!("tls uses generated self-signed certificate {}", dir.join("localhost.crt").display()),
        "all incoming email to any address is accepted (if checks pass), unless the recipient localpart ends with:".into(),
        String::new(),
        "- \"temperror\": fail with a temporary error code.".into(),
        "- \"permerror\": fail with a permanent error code.".into(),
        "- [45][0-9][0-9]: fail with the specific error code.".into(),
        "- \"timeout\": no response (for an hour).".into(),
        String::new(),
        "if the localpart begins with \"mailfrom\" or \"rcptto\", the error is returned".into(),
        "during those commands instead of during \"data\".".into(),
        String::new(),
        " smtp://localhost:1025                           - receive email".into(),
        "smtps://mox%40localhost:moxmoxmox@localhost:1465 - send email".into(),
        " smtp://mox%40localhost:moxmoxmox@localhost:1587 - send email (without tls)".into(),
        "imaps://mox%40localhost:moxmoxmox@localhost:1993 - read email".into(),
        " imap://mox%40localhost:moxmoxmox@localhost:1143 - read email (without tls)".into(),
        String::new(),
        if existing {
            format!("serving from existing config dir {}/\nif urls above don't work, consider resetting by removing config dir", dir.display())
        } else {
            format!("serving from newly created config dir {}/", dir.display())
        },
    ];
    let _ = config;
    for l in lines {
        eprintln!("{l}");
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o770).create(dir)
}

/// Writes a file readable by owner and group only (mox writes 0660), flushed to disk.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o660).open(path)?;
    f.write_all(data)?;
    f.sync_all()
}
