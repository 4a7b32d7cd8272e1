//! `mox quickstart`: a new mail server's configuration, account, keys and DNS records in one
//! command, as mox's quickstart makes them.
//!
//! What it learns about the machine goes through [`Machine`]: the addresses of the network
//! interfaces and the host name. Tests set both with environment variables (test hooks, not
//! for operators): `MOX_QUICKSTART_TEST_IPS` (comma-separated IPs, each as an interface of its
//! own) and `MOX_QUICKSTART_TEST_HOSTNAME`. DNS goes through the resolver of `-dns-server`.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::cmd::Run;
use crate::cmd::clientconfig::client_config_text;
use crate::context::Context;
use crate::dns_records;

/// Quickstart generates configuration files and prints instructions to quickly set up a mox
/// instance.
///
/// Quickstart writes configuration files, prints initial admin and account passwords, DNS
/// records you should create. If you run it on Linux it writes a systemd service file and
/// prints commands to enable and start mox as service.
///
/// All output is written to quickstart.log for later reference.
///
/// The user or uid is optional, defaults to "mox", and is the user or uid/gid mox will run as
/// after initialization.
///
/// Quickstart assumes mox will run on the machine you run quickstart on and uses its host name
/// and public IPs. On many systems the hostname is not a fully qualified domain name, but only
/// the first dns "label", e.g. "mail" in case of "mail.example.org". If so, quickstart does a
/// reverse DNS lookup to find the hostname, and as fallback uses the label plus the domain of
/// the email address you specified. Use flag -hostname to explicitly specify the hostname mox
/// will run on.
///
/// Mox is by far easiest to operate if you let it listen on port 443 (HTTPS) and 80 (HTTP). TLS
/// will be fully automatic with ACME with Let's Encrypt.
///
/// You can run mox along with an existing webserver, but because of MTA-STS and autoconfig,
/// you'll need to forward HTTPS traffic for two domains to mox. Run "mox quickstart
/// -existing-webserver ..." to generate configuration files and instructions for configuring
/// mox along with an existing webserver.
///
/// Files are written in the current directory: config/mox.conf, config/domains.conf, the
/// admin password hash, DKIM keys (Ed25519 and RSA) in config/dkim/, host keys for DANE in
/// config/hostkeys/, the account in data/, quickstart.log and mox.service. Quickstart refuses
/// to run if a configuration exists, and removes what it wrote if it fails.
///
/// Note: mox-rs does not request certificates with ACME yet. Until it does, configure TLS
/// key/certificate files for the public listener (as -existing-webserver writes).
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "mox quickstart [-skipdial] [-existing-webserver] [-hostname host] user@domain [user | uid]"
)]
pub(crate) struct Quickstart {
    /// Use if a webserver is already running, so mox won't listen on port 80 and 443; you'll
    /// have to provide tls certificates/keys, and configure the existing webserver as reverse
    /// proxy, forwarding requests to mox.
    #[arg(long = "existing-webserver")]
    existing_webserver: bool,
    /// Hostname mox will run on, by default the hostname of the machine quickstart runs on; if
    /// specified, the IPs for the hostname are configured for the public listener.
    #[arg(long, value_name = "host")]
    hostname: Option<String>,
    /// Skip check for outgoing smtp (port 25) connectivity.
    #[arg(long)]
    skipdial: bool,
    /// Email address of the first account; its localpart becomes the account name.
    #[arg(value_name = "user@domain")]
    address: String,
    /// System user or uid mox runs as after binding its ports (default "mox").
    #[arg(value_name = "user|uid")]
    user: Option<String>,
}

/// The directory quickstart writes the configuration to, relative to the current directory.
const CONFIG_DIR: &str = "config";
/// The data directory, relative to the current directory ("../data" from config/).
const DATA_DIR: &str = "data";
/// The DNS block lists quickstart suggests (commented out) and monitors.
const DNSBL_ZONES: [&str; 2] = ["sbl.spamhaus.org", "bl.spamcop.net"];
/// Let's Encrypt, the ACME provider quickstart configures.
const ACME_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";
const ACME_ISSUER: &str = "letsencrypt.org";

impl Run for Quickstart {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let here = std::env::current_dir().context("current directory")?;
        let mut setup = Setup { dir: here, created: Vec::new(), log: String::new(), ctx };
        // Refuse before writing anything, quickstart.log included.
        for name in ["mox.conf", "domains.conf"] {
            let path = setup.dir.join(CONFIG_DIR).join(name);
            if path.exists() {
                anyhow::bail!(
                    "{} exists: refusing to overwrite an existing configuration (remove config/ and data/ to start over)",
                    path.display()
                );
            }
        }
        // An account left from an earlier setup is not taken over (nor removed on failure).
        if let Ok(address) = message::Address::parse(&self.address) {
            let account_dir =
                setup.dir.join(DATA_DIR).join("accounts").join(address.localpart.as_str());
            if account_dir.exists() {
                anyhow::bail!(
                    "{} exists: refusing to reuse an existing account (remove it, or choose another address)",
                    account_dir.display()
                );
            }
        }
        setup.say("(output is also written to quickstart.log)\n\n");
        let result = setup.quickstart(&self).await;
        if let Err(e) = &result {
            setup.say(&format!("\nquickstart failed: {e:#}\n"));
            setup.remove_created();
        }
        setup.say("\n(output is also written to quickstart.log)\n");
        // It holds the passwords: readable by the owner only.
        let log_path = setup.dir.join("quickstart.log");
        let mut log_file = {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&log_path)
                .context("writing quickstart.log")?
        };
        log_file.write_all(setup.log.as_bytes()).context("writing quickstart.log")?;
        result
    }
}

/// What quickstart learns about the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Machine {
    /// The addresses of each network interface that is up.
    pub(crate) interfaces: Vec<Vec<IpAddr>>,
    /// The system's host name, often without domain.
    pub(crate) hostname: String,
}

impl Machine {
    /// The machine quickstart runs on, or the test hooks' facts when set.
    fn current() -> anyhow::Result<Machine> {
        let hostname = match std::env::var("MOX_QUICKSTART_TEST_HOSTNAME") {
            Ok(h) if !h.is_empty() => h,
            _ => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .context("hostname of this machine")?
                .trim()
                .to_string(),
        };
        if let Ok(ips) = std::env::var("MOX_QUICKSTART_TEST_IPS") {
            let interfaces = ips
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse::<IpAddr>().map(|ip| vec![ip]))
                .collect::<Result<_, _>>()
                .context("MOX_QUICKSTART_TEST_IPS")?;
            return Ok(Machine { interfaces, hostname });
        }
        let mut by_name: Vec<(String, Vec<IpAddr>)> = Vec::new();
        for ifa in nix::ifaddrs::getifaddrs().context("listing network interfaces")? {
            if !ifa.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP) {
                continue;
            }
            let Some(addr) = ifa.address else { continue };
            let ip = if let Some(a) = addr.as_sockaddr_in() {
                IpAddr::V4(a.ip())
            } else if let Some(a) = addr.as_sockaddr_in6() {
                IpAddr::V6(a.ip())
            } else {
                continue;
            };
            match by_name.iter_mut().find(|(n, _)| *n == ifa.interface_name) {
                Some((_, ips)) => ips.push(ip),
                None => by_name.push((ifa.interface_name.clone(), vec![ip])),
            }
        }
        Ok(Machine { interfaces: by_name.into_iter().map(|(_, ips)| ips).collect(), hostname })
    }
}

/// The machine's addresses by kind, as mox sorts them: an interface with a loopback or private
/// address is taken to be entirely non-public.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Addresses {
    pub(crate) loopback: Vec<IpAddr>,
    pub(crate) private: Vec<IpAddr>,
    pub(crate) public: Vec<IpAddr>,
}

pub(crate) fn classify(interfaces: &[Vec<IpAddr>]) -> Addresses {
    let mut out = Addresses::default();
    for ips in interfaces {
        let usable: Vec<IpAddr> = ips.iter().copied().filter(|ip| !is_link_local_or_multicast(*ip)).collect();
        let nonpublic = usable.iter().any(|ip| ip.is_loopback() || is_private(*ip));
        for ip in usable {
            if !nonpublic {
                out.public.push(ip);
            } else if ip.is_loopback() {
                out.loopback.push(ip);
            } else {
                out.private.push(ip);
            }
        }
    }
    out
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        // Unique local addresses, fc00::/7 (RFC 4193), as Go's IsPrivate.
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn is_link_local_or_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_multicast(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 || v6.is_multicast(),
    }
}

/// The listener addresses quickstart configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenerIps {
    /// The "public" listener's IPs.
    pub(crate) public: Vec<IpAddr>,
    /// The public IPs when the machine is behind a NAT (the "public" listener's NATIPs).
    pub(crate) nat: Vec<IpAddr>,
    /// The "internal" listener's IPs.
    pub(crate) internal: Vec<IpAddr>,
    /// Whether no public IPs were found, and 0.0.0.0/:: are used.
    pub(crate) defaulted: bool,
}

/// Chooses the listeners' IPs from the machine's addresses and the host name's IPs, as mox
/// does: the host name's IPs for the public listener, or the machine's public IPs; only private
/// IPs on the machine means a NAT, with the host's IPs as NAT IPs.
pub(crate) fn listener_ips(machine: &Addresses, host_ips: &[IpAddr]) -> ListenerIps {
    let mut out = ListenerIps {
        public: vec!["0.0.0.0".parse().expect("ip"), "::".parse().expect("ip")],
        nat: Vec::new(),
        internal: vec!["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")],
        defaulted: true,
    };
    let host_private = !host_ips.is_empty() && host_ips.iter().all(|ip| is_private(*ip));
    if !host_private && machine.public.is_empty() && !machine.private.is_empty() {
        out.public = machine.private.clone();
        out.nat = host_ips.to_vec();
        out.defaulted = false;
        if !machine.loopback.is_empty() {
            out.internal = machine.loopback.clone();
        }
        return out;
    }
    let mut private = machine.private.clone();
    if !host_ips.is_empty() {
        out.public = host_ips.to_vec();
        out.defaulted = false;
        private.retain(|ip| !host_ips.contains(ip));
        private.sort();
    } else if !machine.public.is_empty() {
        out.public = machine.public.clone();
        out.defaulted = false;
    }
    if !private.is_empty() {
        private.extend(machine.loopback.iter().copied());
        out.internal = private;
    } else if !machine.loopback.is_empty() {
        out.internal = machine.loopback.clone();
    }
    out
}

/// Quickstart's state: where it writes, what it wrote (removed again on failure), and
/// everything it printed (for quickstart.log).
struct Setup<'a> {
    dir: PathBuf,
    created: Vec<PathBuf>,
    log: String,
    ctx: &'a Context,
}

impl Setup<'_> {
    fn say(&mut self, text: &str) {
        let _ = self.ctx.stdout().write_all(text.as_bytes());
        let _ = self.ctx.stdout().flush();
        self.log.push_str(text);
    }

    /// Writes a new file (never over an existing one), creating its directories; remembered
    /// for removal if quickstart fails.
    fn write_file(&mut self, relative: &str, data: &[u8], mode: u32) -> anyhow::Result<()> {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            let mut missing = Vec::new();
            let mut p = parent.to_path_buf();
            while !p.exists() {
                missing.push(p.clone());
                if !p.pop() {
                    break;
                }
            }
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o770)
                .create(parent)
                .with_context(|| format!("creating directory {}", parent.display()))?;
            // Outermost last, so removal in reverse order removes the innermost first.
            self.created.extend(missing.into_iter().rev());
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .with_context(|| format!("creating file {}", path.display()))?;
        self.created.push(path.clone());
        f.write_all(data).and_then(|()| f.sync_all()).with_context(|| format!("writing file {}", path.display()))?;
        Ok(())
    }

    fn remove_created(&mut self) {
        for path in self.created.drain(..).rev() {
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            if let Err(e) = removed
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::error!(path = %path.display(), error = %e, "cleaning up");
            }
        }
    }

    async fn quickstart(&mut self, args: &Quickstart) -> anyhow::Result<()> {
        let address = message::Address::parse(&args.address)
            .map_err(|e| anyhow::anyhow!("parsing email address {:?}: {e}", args.address))?;
        let account_name = address.localpart.as_str().to_string();
        let domain = address.domain.clone();

        if !account_name.is_ascii() {
            self.say(&format!(
                "NOTE: Username {account_name:?} is not ASCII-only. It is recommended you also configure an\nASCII-only alias. Both for delivery of email from other systems, and for\nlogging in with IMAP.\n\n"
            ));
        }
        let resolver = self.ctx.resolver()?;
        let resolver = resolver.as_ref();

        self.say("Checking if DNS resolvers are DNSSEC-verifying...");
        let com = dns::Domain::parse("com").expect("valid name");
        match timeout(dns_records::zone_is_signed(resolver, &com)).await {
            Ok(true) => self.say(" OK\n"),
            Ok(false) => self.say(RESOLVER_NOT_VALIDATING),
            Err(e) => {
                self.say("\n");
                anyhow::bail!("checking dnssec support in resolver: {e:#}");
            }
        }

        let machine = Machine::current()?;
        let addresses = classify(&machine.interfaces);
        let hostname = match &args.hostname {
            Some(h) => dns::Domain::parse(h).map_err(|e| anyhow::anyhow!("parsing hostname {h:?}: {e}"))?,
            None => self.find_hostname(resolver, &machine, &addresses, &domain).await?,
        };

        self.say(&format!("Looking up IPs for hostname {}...", hostname.unicode()));
        let mut warned = false;
        let (host_ips, host_dnssec, host_error) = match timeout(async {
            resolver.lookup_ip(&hostname).await.map_err(anyhow::Error::new)
        })
        .await
        {
            Ok(l) => {
                let mut ips = Vec::new();
                for ip in l.records {
                    if ip.is_loopback() {
                        warned = true;
                        self.say(&format!(
                            "\n\nWARNING: Your hostname is resolving to a loopback IP address {ip}. This likely breaks email delivery to local accounts. /etc/hosts likely contains a line like \"{ip} {}\". Either replace it with your actual IP(s), or remove the line.\n",
                            hostname.ascii()
                        ));
                        continue;
                    }
                    ips.push(ip);
                }
                let error = ips.is_empty().then(|| "hostname not in dns, probably only in /etc/hosts".to_string());
                (ips, l.authentic, error)
            }
            Err(e) => (Vec::new(), false, Some(format!("{e:#}"))),
        };
        let ips = listener_ips(&addresses, &host_ips);
        if let Some(error) = &host_error {
            if !warned {
                self.say("\n");
            }
            warned = true;
            self.say(&format!(
                "\nWARNING: Quickstart assumed the hostname of this machine is {host} and generates a\nconfig for that host, but could not retrieve that name from DNS:\n\n\t{error}\n\nThis likely means one of two things:\n\n1. You don't have any DNS records for this machine at all. You should add them\n   before continuing.\n2. The hostname mentioned is not the correct host name of this machine. You will\n   have to replace the hostname in the suggested DNS records and generated\n   config/mox.conf file. Make sure your hostname resolves to your public IPs, and\n   your public IPs resolve back (reverse) to your hostname.\n\n\n",
                host = hostname.unicode()
            ));
        } else if !host_dnssec {
            if !warned {
                self.say("\n");
            }
            warned = true;
            self.say(ZONE_NOT_SIGNED);
        }
        if !warned {
            self.say(" OK\n");
            self.check_reverse_names(resolver, &host_ips, &hostname).await;
        }
        if !args.skipdial {
            self.check_outgoing_smtp(resolver).await;
        }
        let checked_ips: Vec<IpAddr> =
            if host_ips.is_empty() && !ips.defaulted { ips.public.clone() } else { host_ips.clone() };
        self.check_dnsbls(resolver, &checked_ips).await;
        if ips.defaulted {
            self.say(NO_PUBLIC_IPS);
        }
        if !ips.nat.is_empty() {
            self.say(BEHIND_NAT);
        }
        self.say("\n");

        let user = args.user.clone().unwrap_or_else(|| "mox".to_string());
        self.write_config(args, &address, &account_name, &hostname, &ips, &user, host_dnssec).await
    }

    /// The host name from the reverse names of the public IPs, or the system name plus the
    /// domain (as mox does when the system name is not a full name).
    async fn find_hostname(
        &mut self,
        resolver: &dyn dns::Resolver,
        machine: &Machine,
        addresses: &Addresses,
        domain: &dns::Domain,
    ) -> anyhow::Result<dns::Domain> {
        if machine.hostname.contains('.') {
            return dns::Domain::parse(&machine.hostname)
                .map_err(|e| anyhow::anyhow!("parsing hostname {:?}: {e}", machine.hostname));
        }
        if !addresses.public.is_empty() {
            let list: Vec<String> = addresses.public.iter().map(|ip| ip.to_string()).collect();
            self.say(&format!("Trying to find hostname by reverse lookup of public IPs {}...", list.join(", ")));
        }
        let mut warned = false;
        let mut names = std::collections::BTreeSet::new();
        for ip in &addresses.public {
            match timeout(async { resolver.lookup_ptr(*ip).await.map_err(anyhow::Error::new) }).await {
                Ok(l) => names.extend(l.records.into_iter().filter(|n| n.ascii().contains('.'))),
                Err(e) => {
                    warned = true;
                    self.say(&format!("\nWARNING: looking up reverse name(s) for {ip}: {e:#}"));
                }
            }
        }
        let hostname = match names.iter().next() {
            None => {
                let guess = format!("{}.{}", machine.hostname, domain.ascii());
                let name = dns::Domain::parse(&guess).map_err(|e| anyhow::anyhow!("parsing hostname {guess:?}: {e}"))?;
                warned = true;
                self.say(&format!(
                    "\nWARNING: cannot determine hostname because the system name is not an FQDN and\nno public IPs resolving to an FQDN were found. Quickstart guessed the host name\nbelow. If it is not correct, please remove the generated config files and run\nquickstart again with the -hostname flag.\n\n\t\t{}\n",
                    name.unicode()
                ));
                name
            }
            Some(first) => {
                if names.len() > 1 {
                    warned = true;
                    let all: Vec<&str> = names.iter().map(|n| n.ascii()).collect();
                    self.say(&format!(
                        "\nWARNING: multiple hostnames found for the public IPs, using the first of: {}\nIf this is not correct, remove the generated config files and run quickstart\nagain with the -hostname flag.\n",
                        all.join(", ")
                    ));
                }
                first.clone()
            }
        };
        if warned {
            self.say("\n\n");
        } else {
            self.say(&format!(" found {}\n", hostname.unicode()));
        }
        Ok(hostname)
    }

    /// Warns when an IP's reverse name is not the host name: other mail servers reject mail
    /// from such IPs.
    async fn check_reverse_names(&mut self, resolver: &dyn dns::Resolver, ips: &[IpAddr], hostname: &dns::Domain) {
        if ips.is_empty() {
            return;
        }
        let list: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
        self.say(&format!("Looking up reverse names for IP(s) {}...", list.join(", ")));
        let mut warned = false;
        for ip in ips {
            match timeout(async { resolver.lookup_ptr(*ip).await.map_err(anyhow::Error::new) }).await {
                Err(e) => {
                    warned = true;
                    self.say(&format!("\nWARNING: looking up reverse name for {ip}: {e:#}"));
                }
                Ok(l) => {
                    if l.records.len() != 1 {
                        warned = true;
                        let names: Vec<&str> = l.records.iter().map(|n| n.ascii()).collect();
                        self.say(&format!("\nWARNING: expected exactly 1 name for {ip}, got {} ({})", names.len(), names.join(", ")));
                    }
                    if !l.records.contains(hostname) {
                        warned = true;
                        let names: Vec<&str> = l.records.iter().map(|n| n.ascii()).collect();
                        self.say(&format!(
                            "\nWARNING: reverse name(s) {} for ip {ip} do not match hostname {}, which will cause other mail servers to reject incoming messages from this IP",
                            names.join(","),
                            hostname.unicode()
                        ));
                    }
                }
            }
        }
        self.say(if warned { "\n\n" } else { " OK\n" });
    }

    /// Tries a connection to port 25 of gmail.com's first MX host: many providers block
    /// outgoing SMTP.
    async fn check_outgoing_smtp(&mut self, resolver: &dyn dns::Resolver) {
        self.say("Checking if outgoing smtp connections can be made by connecting to gmail.com mx on port 25...");
        let gmail = dns::Domain::parse("gmail.com").expect("valid name");
        let result: anyhow::Result<()> = async {
            let mx = timeout(async { resolver.lookup_mx(&gmail).await.map_err(anyhow::Error::new) })
                .await
                .context("looking up gmail.com mx record")?;
            let host = mx
                .records
                .iter()
                .find_map(|m| m.exchange.clone())
                .ok_or_else(|| anyhow::anyhow!("looking up gmail.com mx record: no mx records"))?;
            // Through our resolver, like every other lookup here (and -dns-server).
            let ips = timeout(async { resolver.lookup_ip(&host).await.map_err(anyhow::Error::new) })
                .await
                .with_context(|| format!("looking up IPs of {}", host.ascii()))?;
            let addrs: Vec<std::net::SocketAddr> =
                ips.records.iter().map(|ip| std::net::SocketAddr::new(*ip, 25)).collect();
            let addr = format!("{}:25", host.ascii());
            let conn = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(&addrs[..]),
            )
            .await
            .map_err(|_| anyhow::anyhow!("connecting to {addr}: timeout"))?
            .with_context(|| format!("connecting to {addr}"))?;
            drop(conn);
            Ok(())
        }
        .await;
        match result {
            Ok(()) => self.say(" OK\n"),
            Err(e) => self.say(&format!("\n\nERROR: {e:#}\n{OUTGOING_SMTP_BLOCKED}")),
        }
    }

    /// Warns when the host's IPs are in the popular block lists.
    async fn check_dnsbls(&mut self, resolver: &dyn dns::Resolver, ips: &[IpAddr]) {
        if ips.is_empty() {
            return;
        }
        self.say("Checking whether host name IPs are listed in popular DNS block lists...");
        let mut listed = false;
        for zone in DNSBL_ZONES {
            let zone = dns::Domain::parse(zone).expect("valid zone");
            for ip in ips {
                let status = timeout(async { dnsbl::lookup(resolver, &zone, *ip).await.map_err(anyhow::Error::new) }).await;
                let problem = match status {
                    Ok(dnsbl::Status::NotListed) => continue,
                    Ok(dnsbl::Status::Listed(listing)) => format!("listed ({listing:?})"),
                    Ok(dnsbl::Status::TempError(e)) => format!("temporary error ({e})"),
                    Ok(other) => format!("{other:?}"),
                    Err(e) => format!("error ({e:#})"),
                };
                listed = true;
                self.say(&format!("\nWARNING: checking your public IP {ip} in DNS block list {}: {problem}", zone.ascii()));
            }
        }
        if listed {
            self.say("\n\nOther mail servers are likely to reject email from IPs that are in a blocklist.\nIf all your IPs are in block lists, you will encounter problems delivering\nemail. Your IP may be in block lists only temporarily. To see if your IPs are\nlisted in more DNS block lists, visit:\n\n");
            for ip in ips {
                self.say(&format!("- https://multirbl.valli.org/lookup/{ip}.html\n"));
            }
            self.say("\n");
        } else {
            self.say(" OK\n");
        }
    }

    #[allow(clippy::too_many_arguments, reason = "the facts gathered before, each used once")]
    async fn write_config(
        &mut self,
        args: &Quickstart,
        address: &message::Address,
        account_name: &str,
        hostname: &dns::Domain,
        ips: &ListenerIps,
        user: &str,
        dnssec: bool,
    ) -> anyhow::Result<()> {
        let domain = &address.domain;
        let admin_password = generate_password()?;
        let hash = bcrypt::hash(&admin_password, bcrypt::DEFAULT_COST).context("hashing admin password")?;
        self.write_file("config/adminpasswd", hash.as_bytes(), 0o660)?;
        self.say(&format!("Admin password: {admin_password}\n"));

        let mut static_ = static_config(args, address, hostname, ips, user);
        if !args.existing_webserver {
            // Host keys for DANE, requested certificates use them (mox.conf HostPrivateKeyFiles).
            let stamp = timestamp();
            let mut files = Vec::new();
            for (kind, pem) in [
                ("rsa2048", crate::host_keys::generate_rsa_2048()?),
                ("ecdsap256", crate::host_keys::generate_ecdsa_p256()?),
            ] {
                let file = format!("hostkeys/{}.{stamp}.{kind}.privatekey.pkcs8.pem", hostname.unicode());
                self.write_file(&format!("config/{file}"), pem.as_bytes(), 0o600)?;
                files.push(file);
            }
            if let Some(tls) = static_.listeners.get_mut("public").and_then(|l| l.tls.as_mut()) {
                tls.host_private_key_files = files;
            }
        } else {
            self.say(EXISTING_WEBSERVER_TLS);
        }

        let mox_conf = self.dir.join("config/mox.conf");
        let dynamic_path = self.dir.join("config/domains.conf");
        let (domain_config, key_files) = config::edit::new_domain_config(&dynamic_path, hostname, domain, account_name, true)?;
        let mut dynamic = config::Dynamic {
            monitor_dnsbls: DNSBL_ZONES.iter().map(|z| z.to_string()).collect(),
            ..config::Dynamic::default()
        };
        dynamic.domains.insert(domain.unicode().to_string(), domain_config);
        dynamic.accounts.insert(account_name.to_string(), config::edit::new_account(address));

        // Like mox: CheckUpdates and the DNSBLs are written commented out, as suggestions.
        static_.check_updates = true;
        let mut conf_text = config::static_to_string(&static_)?;
        conf_text = conf_text.replacen(
            "\nCheckUpdates: true\n",
            "\n#\n# RECOMMENDED: please enable to stay up to date\n#\n#CheckUpdates: true\n",
            1,
        );
        conf_text = comment_dnsbls(&conf_text);
        for (path, pem) in &key_files {
            let relative = path.strip_prefix(&self.dir).unwrap_or(path).to_string_lossy().to_string();
            self.write_file(&relative, pem.as_bytes(), 0o660)?;
        }
        self.write_file("config/mox.conf", conf_text.as_bytes(), 0o660)?;
        self.write_file("config/domains.conf", config::dynamic_to_string(&dynamic)?.as_bytes(), 0o660)?;

        let config = load_generated(&mox_conf, &static_, args.existing_webserver)?;

        let data_existed = self.dir.join(DATA_DIR).exists();
        let accounts = runtime::Accounts::new(&config.data_dir, runtime::initial_mailboxes(&config.static_));
        let account_password = generate_password()?;
        let set = accounts.set_password(account_name, &account_password);
        if !data_existed {
            self.created.push(self.dir.join(DATA_DIR));
        } else {
            self.created.push(config.data_dir.join("accounts").join(account_name));
        }
        set.context("setting account password")?;
        drop(accounts);

        self.say(&format!(
            "IMAP, SMTP submission and HTTP account password for {}: {account_password}\n\n",
            address
        ));
        self.say("When configuring your email client, use the email address as username. If\nautoconfig/autodiscover does not work, use these settings:\n");
        self.say(&client_config_text(&config, domain)?);

        let d = domain.ascii();
        let h = hostname.ascii();
        if args.existing_webserver {
            self.say(&format!(
                "\nConfiguration files have been written to config/mox.conf and\nconfig/domains.conf.\n\nCreate the DNS records below, by adding them to your zone file or through the\nweb interface of your DNS operator. \"mox config dnscheck {d}\" checks they have\nbeen configured correctly.\n\nYou must configure your existing webserver to forward requests for:\n\n\thttps://mta-sts.{d}/\n\thttps://autoconfig.{d}/\n\nTo mox, at:\n\n\thttp://127.0.0.1:81\n\nIf it makes it easier to get a TLS certificate for {h}, you can add a\nreverse proxy for that hostname too.\n\nYou must edit mox.conf and configure the paths to the TLS certificates and keys.\nThe paths are relative to config/ directory that holds mox.conf! To test if your\nconfig is valid, run:\n\n\t./mox config test\n\nThe DNS records to add:\n"
            ));
        } else {
            self.say(&format!(
                "\nConfiguration files have been written to config/mox.conf and\nconfig/domains.conf. You should review them. Then create the DNS records below,\nby adding them to your zone file or through the web interface of your DNS\noperator. You can also skip creating the DNS records and start mox immediately.\n\"mox config dnsrecords {d}\" prints these same records, and \"mox config dnscheck\n{d}\" checks they have been configured correctly. The DNS records to add:\n"
            ));
        }
        let lines = dns_records::domain_records(&config, domain, dns_records::Options { dnssec })?;
        self.say(&format!("\n\n{}\n\n\n", dns_records::zone_text(domain, &lines)));
        self.say(EXISTING_EMAIL_WARNING);
        if !args.existing_webserver {
            self.say(NO_ACME_YET);
        }
        self.say("\nYou can now start mox with \"./mox serve\", as root.\n\nFile ownership and permissions are automatically set correctly by mox when\nstarting up. On linux, you may want to enable mox as a systemd service.\n\n");
        if cfg!(target_os = "linux") {
            let unit = crate::cmd::config::service_unit(&self.dir.display().to_string());
            self.write_file("mox.service", unit.as_bytes(), 0o644)?;
            self.say("See mox.service for a systemd service file (also printed by \"mox config\nprintservice\"). To enable and start:\n\n\tsudo chmod 644 mox.service\n\tsudo systemctl enable $PWD/mox.service\n\tsudo systemctl start mox.service\n\tsudo journalctl -f -u mox.service # See logs\n");
        }
        self.say("\nThe admin password above is for the web admin interface, which mox-rs does not\nhave yet; change it with \"mox setadminpassword\". Account passwords are changed\nwith \"mox setaccountpassword\".\n\nIf you run into problem, have questions/feedback or found a bug, please let us\nknow. Mox needs your help!\n\nEnjoy!\n");
        if !args.existing_webserver {
            self.say("\nPS: If you want to run mox along side an existing webserver that uses port 443\nand 80, see \"mox help quickstart\" with the -existing-webserver option.\n");
        }
        // Success: nothing to clean up.
        self.created.clear();
        Ok(())
    }
}

/// mox.conf as quickstart writes it.
fn static_config(
    args: &Quickstart,
    address: &message::Address,
    hostname: &dns::Domain,
    ips: &ListenerIps,
    user: &str,
) -> config::Static {
    use config::*;
    let account = address.localpart.as_str().to_string();
    let strings = |ips: &[IpAddr]| ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>();
    let mut s = Static {
        data_dir: "../data".into(),
        user: Some(user.to_string()),
        log_level: "debug".into(),
        hostname: hostname.unicode().to_string(),
        admin_password_file: Some("adminpasswd".into()),
        ..Static::default()
    };
    if !args.existing_webserver {
        // Let's Encrypt does not take internationalized addresses; postmaster reaches the
        // account too.
        let contact = if address.localpart.as_str().is_ascii() {
            address.to_string()
        } else {
            format!("postmaster@{}", address.domain.unicode())
        };
        s.acme.insert(
            "letsencrypt".into(),
            Acme {
                directory_url: ACME_DIRECTORY.into(),
                contact_email: contact,
                issuer_domain_name: Some(ACME_ISSUER.into()),
                ..Acme::default()
            },
        );
    }

    let mut public = Listener { ips: strings(&ips.public), nat_ips: strings(&ips.nat), ..Listener::default() };
    public.smtp.enabled = true;
    public.submissions.enabled = true;
    public.imaps.enabled = true;
    if args.existing_webserver {
        let d = address.domain.unicode();
        let mut bases = vec![
            format!("path/to/{}", hostname.unicode()),
            format!("path/to/mta-sts.{d}"),
            format!("path/to/autoconfig.{d}"),
        ];
        let mail = format!("path/to/mail.{d}");
        if mail != bases[0] {
            bases.push(mail);
        }
        public.tls = Some(Tls {
            key_certs: bases
                .iter()
                .map(|b| KeyCert { cert_file: format!("{b}-chain.crt.pem"), key_file: format!("{b}.key.pem") })
                .collect(),
            ..Tls::default()
        });
    } else {
        public.tls = Some(Tls { acme: Some("letsencrypt".into()), ..Tls::default() });
        public.autoconfig_https.enabled = true;
        public.mtasts_https.enabled = true;
        public.webserver_http.enabled = true;
        public.webserver_https.enabled = true;
    }
    public.smtp.dnsbls = DNSBL_ZONES.iter().map(|z| z.to_string()).collect();

    let mut internal = Listener { ips: strings(&ips.internal), hostname: Some("localhost".into()), ..Listener::default() };
    internal.account_http.enabled = true;
    internal.admin_http.enabled = true;
    internal.webmail_http.enabled = true;
    internal.webapi_http.enabled = true;
    internal.metrics_http.enabled = true;
    if args.existing_webserver {
        for web in [&mut internal.account_http, &mut internal.admin_http, &mut internal.webmail_http, &mut internal.webapi_http] {
            web.port = Some(1080);
            web.forwarded = true;
        }
        internal.autoconfig_https.enabled = true;
        internal.autoconfig_https.port = Some(81);
        internal.autoconfig_https.non_tls = true;
        internal.autoconfig_https.forwarded = true;
        internal.mtasts_https.enabled = true;
        internal.mtasts_https.port = Some(81);
        internal.mtasts_https.non_tls = true;
        internal.mtasts_https.forwarded = true;
        internal.webserver_http.enabled = true;
        internal.webserver_http.port = Some(81);
    }
    s.listeners.insert("public".into(), public);
    s.listeners.insert("internal".into(), internal);
    s.postmaster.account = account.clone();
    s.postmaster.mailbox = "Postmaster".into();
    s.host_tlsrpt.account = account;
    s.host_tlsrpt.localpart = "tlsreports".into();
    s.host_tlsrpt.mailbox = "TLSRPT".into();
    s
}

/// Loads and checks the configuration just written. With -existing-webserver, the certificate
/// files are placeholders the operator still has to provide (mox does not load them either at
/// this point): errors about them alone are expected, and the configuration used for the rest
/// of quickstart has the public listener's TLS without them.
fn load_generated(mox_conf: &std::path::Path, static_: &config::Static, existing_webserver: bool) -> anyhow::Result<config::Config> {
    let errors = match config::load(mox_conf) {
        Ok(config) => return Ok(config),
        Err(errors) => errors,
    };
    let only_placeholders = existing_webserver
        && errors.errors().iter().all(|e| e.path.starts_with("Listeners.public.TLS.KeyCerts"));
    if !only_placeholders {
        anyhow::bail!("checking generated config ({} errors):\n{errors}", errors.errors().len());
    }
    let mut without = static_.clone();
    without.acme.insert(
        "placeholder".into(),
        config::Acme { directory_url: ACME_DIRECTORY.into(), contact_email: "postmaster@localhost".into(), ..config::Acme::default() },
    );
    if let Some(public) = without.listeners.get_mut("public") {
        public.tls = Some(config::Tls { acme: Some("placeholder".into()), ..config::Tls::default() });
    }
    let dynamic_text = std::fs::read_to_string(mox_conf.with_file_name("domains.conf")).context("reading domains.conf")?;
    config::load_from_texts(mox_conf, &config::static_to_string(&without)?, &dynamic_text).map_err(|errors| {
        anyhow::anyhow!("checking generated config ({} errors):\n{errors}", errors.errors().len())
    })
}

/// Comments out the `DNSBLs:` key and its list items, as mox writes them: suggestions.
fn comment_dnsbls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_list: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches('\t').len();
        let body = line.trim_start_matches('\t');
        if let Some(list_indent) = in_list {
            if indent > list_indent && body.starts_with("- ") {
                out.push_str(&line[..indent]);
                out.push('#');
                out.push_str(body);
                continue;
            }
            in_list = None;
        }
        if body.starts_with("DNSBLs:") {
            in_list = Some(indent);
            out.push_str(&line[..indent]);
            out.push('#');
            out.push_str(body);
            continue;
        }
        out.push_str(line);
    }
    out
}

/// A password of 12 characters from mox's alphabet, without modulo bias.
fn generate_password() -> anyhow::Result<String> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*-_;:,<.>/";
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::new();
    while out.len() < 12 {
        let mut b = [0u8; 1];
        ring::rand::SecureRandom::fill(&rng, &mut b).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let i = usize::from(b[0]);
        if i + CHARS.len() > 255 {
            continue;
        }
        out.push(char::from(CHARS[i % CHARS.len()]));
    }
    Ok(out)
}

/// `20060102T150405` in UTC, as mox names key files.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (y, m, d) = message::calendar::civil_from_days(secs.div_euclid(86400));
    let rest = secs.rem_euclid(86400);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}", rest / 3600, (rest / 60) % 60, rest % 60)
}

/// DNS during quickstart gets 5 seconds per question: DNS may not work yet on a new machine,
/// and quickstart should say so rather than hang.
async fn timeout<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .map_err(|_| anyhow::anyhow!("dns lookup timed out after 5s"))?
}

const RESOLVER_NOT_VALIDATING: &str = "

WARNING: It looks like the DNS resolvers configured on your system do not
verify DNSSEC, or aren't trusted (by having loopback IPs or through \"options
trust-ad\" in /etc/resolv.conf).  Without DNSSEC, outbound delivery with SMTP
used unprotected MX records, and SMTP STARTTLS connections cannot verify the TLS
certificate with DANE (based on a public key in DNS), and will fall back to
either MTA-STS for verification, or use \"opportunistic TLS\" with no certificate
verification.

Recommended action: Install unbound, a DNSSEC-verifying recursive DNS resolver,
ensure it has DNSSEC root keys (see unbound-anchor), and enable support for
\"extended dns errors\" (EDE, available since unbound v1.16.0). Test with
\"dig com. ns\" and look for \"ad\" (authentic data) in response \"flags\".

";

const ZONE_NOT_SIGNED: &str = "
NOTE: It looks like the DNS records of your domain (zone) are not DNSSEC-signed.
Mail servers that send email to your domain, or receive email from your domain,
cannot verify that the MX/SPF/DKIM/DMARC/MTA-STS records they receive are
authentic. DANE, for authenticated delivery without relying on a pool of
certificate authorities, requires DNSSEC, so will not be configured at this
time.
Recommended action: Continue now, but consider enabling DNSSEC for your domain
later at your DNS operator, and adding DANE records for protecting incoming
messages over SMTP.

";

const OUTGOING_SMTP_BLOCKED: &str = "
WARNING: Could not verify outgoing smtp connections can be made, outgoing
delivery may not be working. Many providers block outgoing smtp connections by
default, requiring an explicit request or a cooldown period before allowing
outgoing smtp connections. To send through a smarthost, configure a \"Transport\"
in mox.conf and use it in \"Routes\" in domains.conf. See
\"mox config example transport\".

";

const NO_PUBLIC_IPS: &str = "
WARNING: Could not find your public IP address(es). The \"public\" listener is
configured to listen on 0.0.0.0 (IPv4) and :: (IPv6). If you don't change these
to your actual public IP addresses, you will likely get \"address in use\" errors
when starting mox because the \"internal\" listener binds to a specific IP
address on the same port(s). If you are behind a NAT, instead configure the
actual public IPs in the listener's \"NATIPs\" option.

";

const BEHIND_NAT: &str = "
NOTE: Quickstart used the IPs of the host name of the mail server, but only
found private IPs on the machine. This indicates this machine is behind a NAT,
so the host IPs were configured in the NATIPs field of the public listeners. If
you are behind a NAT that does not preserve the remote IPs of connections, you
will likely experience problems accepting email due to IP-based policies. For
example, SPF is a mechanism that checks if an IP address is allowed to send
email for a domain, and mox uses IP-based (non)junk classification, and IP-based
rate-limiting both for accepting email and blocking bad actors (such as with too
many authentication failures).

";

const EXISTING_WEBSERVER_TLS: &str = "Placeholder paths to TLS certificates to be provided by the existing webserver
have been placed in config/mox.conf and need to be edited.

No private keys for the public listener have been generated for use with DANE.
To configure DANE (which requires DNSSEC), set config field HostPrivateKeyFiles
in the \"public\" Listener to both RSA 2048-bit and ECDSA P-256 private key files
and check \"mox config dnsrecords\" for the needed DNS records.
";

const EXISTING_EMAIL_WARNING: &str = "WARNING: The configuration and DNS records above assume you do not currently
have email configured for your domain. If you do already have email configured,
or if you are sending email for your domain from other machines/services, you
should understand the consequences of the DNS records above before
continuing!
";

const NO_ACME_YET: &str = "
NOTE: mox-rs does not request TLS certificates with ACME yet. The public listener
is configured for ACME (as mox does); \"mox serve\" starts with it and receives
mail on port 25, but without a certificate it offers no STARTTLS, refuses logins
on submission and IMAP, and keeps the IMAPS and submissions ports closed (it logs
each). Until mox-rs does ACME, get certificates for the host name and the
mta-sts/autoconfig names elsewhere, and configure them in the public listener's
TLS.KeyCerts in config/mox.conf instead of TLS.ACME, as
\"mox quickstart -existing-webserver\" writes.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().expect("ip")).collect()
    }

    #[test]
    fn an_interface_with_a_private_address_is_private() {
        let a = classify(&[
            ips(&["127.0.0.1", "::1"]),
            ips(&["192.0.2.10", "2001:db8::10", "fe80::1"]),
            ips(&["10.0.0.5", "198.51.100.7"]),
        ]);
        assert_eq!(a.loopback, ips(&["127.0.0.1", "::1"]));
        assert_eq!(a.public, ips(&["192.0.2.10", "2001:db8::10"]));
        assert_eq!(a.private, ips(&["10.0.0.5", "198.51.100.7"]));
    }

    #[test]
    fn listener_ips_as_mox_chooses_them() {
        let machine = classify(&[ips(&["127.0.0.1"]), ips(&["192.0.2.10"]), ips(&["10.0.0.5"])]);
        // The host name's IPs win.
        let l = listener_ips(&machine, &ips(&["192.0.2.10"]));
        assert_eq!(l.public, ips(&["192.0.2.10"]));
        assert_eq!(l.internal, ips(&["10.0.0.5", "127.0.0.1"]));
        assert!(l.nat.is_empty() && !l.defaulted);

        // Only private IPs on the machine: behind a NAT.
        let natted = classify(&[ips(&["127.0.0.1"]), ips(&["10.0.0.5"])]);
        let l = listener_ips(&natted, &ips(&["192.0.2.10"]));
        assert_eq!((l.public, l.nat, l.internal), (ips(&["10.0.0.5"]), ips(&["192.0.2.10"]), ips(&["127.0.0.1"])));

        // Nothing known: all addresses, with a warning.
        let l = listener_ips(&Addresses::default(), &[]);
        assert!(l.defaulted);
        assert_eq!(l.public, ips(&["0.0.0.0", "::"]));
    }

    #[test]
    fn dnsbls_are_commented_out() {
        let text = "Listeners:\n\tpublic:\n\t\tSMTP:\n\t\t\tEnabled: true\n\t\t\tDNSBLs:\n\t\t\t\t- sbl.spamhaus.org\n\t\t\t\t- bl.spamcop.net\n\t\tIMAPS:\n";
        assert_eq!(
            comment_dnsbls(text),
            "Listeners:\n\tpublic:\n\t\tSMTP:\n\t\t\tEnabled: true\n\t\t\t#DNSBLs:\n\t\t\t\t#- sbl.spamhaus.org\n\t\t\t\t#- bl.spamcop.net\n\t\tIMAPS:\n"
        );
    }

    #[test]
    fn passwords_are_twelve_characters() {
        let a = generate_password().expect("password");
        assert_eq!(a.chars().count(), 12);
        assert_ne!(a, generate_password().expect("password"));
    }
}
