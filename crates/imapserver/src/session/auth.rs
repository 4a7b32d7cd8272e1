//! LOGIN and AUTHENTICATE (RFC 9051 §6.2.2, §6.2.3; SASL-IR RFC 4959), and the two small
//! traits a server plugs in: where credentials come from, and how failed logins are slowed
//! down.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sasl::{Mechanism, ServerStep};

use super::{Authenticated, CmdResult, Failure, InputMode, Session, State};
use crate::command::Secret;

/// Where logins are checked: credentials by login name, and the account behind them.
pub trait Authenticator: Send + Sync + 'static {
    /// The account and stored credentials for a login name (an email address), or `None`
    /// for an unknown name.
    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)>;

    /// Opens the account (once per process is cheap: the store shares open accounts).
    fn open_account(&self, account: &str) -> Result<store::Account, OpenError>;

    /// The account's junk settings (AutomaticJunkFlags, and its `JunkFilter` if it has one),
    /// asked once at login: flag changes, moves, copies, appends and expunges then keep the
    /// filter trained (see [`junk::AccountJunk`]). `None`: no junk handling at all.
    fn junk(&self, _account: &str, _opened: &store::Account) -> Option<junk::AccountJunk> {
        None
    }
}

/// Why an account could not be opened (the authenticator's own error, logged).
pub type OpenError = Box<dyn std::error::Error + Send + Sync>;

/// Failed-login accounting per client address, shared by the protocols of a server.
pub trait LoginLimiter: Send + Sync + 'static {
    /// Whether `ip` may try to log in now (false: too many failures, refuse without
    /// checking).
    fn allowed(&self, ip: IpAddr) -> bool;
    /// Records a failed login; returns how long to wait before answering.
    fn failed(&self, ip: IpAddr) -> Duration;
    /// Records a successful login.
    fn succeeded(&self, ip: IpAddr);
}

/// An [`Authenticator`] with accounts kept in memory, for tests, benchmarks and small setups:
/// login names map to an account name and credentials; accounts live under one directory.
#[derive(Debug)]
pub struct MemoryAuthenticator {
    accounts_dir: PathBuf,
    users: Mutex<HashMap<String, (String, sasl::StoredCredentials)>>,
    /// Accounts stay open (and keep their quota) once opened.
    open: Mutex<HashMap<String, store::Account>>,
}

impl MemoryAuthenticator {
    /// Accounts are directories below `accounts_dir` (created on first login).
    pub fn new(accounts_dir: impl Into<PathBuf>) -> MemoryAuthenticator {
        MemoryAuthenticator {
            accounts_dir: accounts_dir.into(),
            users: Mutex::new(HashMap::new()),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Adds a login name for an account, with credentials derived from `password` (with
    /// `params`: tests use a low cost).
    pub fn add_user(
        &self,
        username: &str,
        account: &str,
        password: &str,
        params: &sasl::DeriveParams,
    ) -> Result<(), sasl::CredentialsError> {
        let creds = sasl::StoredCredentials::derive_with(password, params)?;
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(username.to_ascii_lowercase(), (account.to_string(), creds));
        Ok(())
    }
}

impl Authenticator for MemoryAuthenticator {
    fn credentials(&self, username: &str) -> Option<(String, sasl::StoredCredentials)> {
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&username.to_ascii_lowercase())
            .cloned()
    }

    fn open_account(&self, account: &str) -> Result<store::Account, OpenError> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(a) = open.get(account) {
            return Ok(a.clone());
        }
        store::check_account_name(account)?;
        let a = store::Account::open_or_create(&self.accounts_dir.join(account))?;
        open.insert(account.to_string(), a.clone());
        Ok(a)
    }
}

/// A [`LoginLimiter`] counting failures per address in a sliding window: each failure adds
/// `step` to the delay (up to `max_delay`), and after `lockout_after` failures the address is
/// refused until the window passes.
#[derive(Debug)]
pub struct SimpleLoginLimiter {
    step: Duration,
    max_delay: Duration,
    lockout_after: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl SimpleLoginLimiter {
    /// A limiter; `SimpleLoginLimiter::new(Duration::ZERO, ...)` for tests.
    pub fn new(step: Duration, max_delay: Duration, lockout_after: u32, window: Duration) -> Self {
        SimpleLoginLimiter {
            step,
            max_delay,
            lockout_after,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for SimpleLoginLimiter {
    /// One more second per failure up to 5 s; 30 failures in 10 minutes lock the address out.
    fn default() -> Self {
        SimpleLoginLimiter::new(
            Duration::from_secs(1),
            Duration::from_secs(5),
            30,
            Duration::from_secs(600),
        )
    }
}

impl LoginLimiter for SimpleLoginLimiter {
    fn allowed(&self, ip: IpAddr) -> bool {
        let mut m = self.lock();
        match m.get(&ip) {
            Some((_, since)) if since.elapsed() > self.window => {
                m.remove(&ip);
                true
            }
            Some((n, _)) => *n < self.lockout_after,
            None => true,
        }
    }

    fn failed(&self, ip: IpAddr) -> Duration {
        let mut m = self.lock();
        if m.len() > 100_000 {
            // Bound memory under a distributed attack: forget old entries.
            let window = self.window;
            m.retain(|_, (_, since)| since.elapsed() <= window);
        }
        let e = m.entry(ip).or_insert((0, Instant::now()));
        e.0 += 1;
        e.1 = Instant::now();
        (self.step * e.0).min(self.max_delay)
    }

    fn succeeded(&self, ip: IpAddr) {
        self.lock().remove(&ip);
    }
}

impl Session {
    /// AUTHENTICATE PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.
    fn plain(&mut self, msg: &[u8]) -> Result<(Option<String>, String), Failure> {
        let mut parts = msg.split(|&b| b == 0);
        let (Some(authzid), Some(authcid), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Failure::bad("malformed PLAIN response"));
        };
        let (Ok(authzid), Ok(username), Ok(password)) = (
            std::str::from_utf8(authzid),
            std::str::from_utf8(authcid),
            std::str::from_utf8(password),
        ) else {
            return Err(Failure::bad("PLAIN response is not UTF-8"));
        };
        if !authzid.is_empty() && authzid != username {
            // RFC 5530 §3: AUTHORIZATIONFAILED means the credentials were right; wrong ones
            // are AUTHENTICATIONFAILED (and count as a failed login) whatever the authzid.
            if self.verify_password(username, password).is_none() {
                return Err(self.login_failed(username, "PLAIN"));
            }
            return Err(Failure::no_code("AUTHORIZATIONFAILED", "cannot act as another user"));
        }
        self.password_login(username, password, "PLAIN")
    }
}

/// Recent successful password checks, so a client that logs in again and again (every few
/// minutes, or with many connections) does not pay for the slow password hash each time, as
/// mox does. Keyed by user name and the stored hash (a changed password misses), holding an
/// HMAC of the password under a key that exists only in this process; emptied every 15
/// minutes.
mod login_cache {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::{Duration, Instant};

    use subtle::ConstantTimeEq as _;

    const LIFETIME: Duration = Duration::from_secs(15 * 60);

    struct Cache {
        key: ring::hmac::Key,
        since: Instant,
        entries: HashMap<(String, String), ring::hmac::Tag>,
    }

    static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rand_fallback()));
        Mutex::new(Cache { key, since: Instant::now(), entries: HashMap::new() })
    });

    fn rand_fallback() -> [u8; 32] {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut k = [0u8; 32];
        k[..16].copy_from_slice(&t.to_le_bytes());
        k
    }

    /// Whether `password` is right for `username` with stored hash `hash`.
    pub(super) fn check(username: &str, hash: &sasl::PasswordHash, password: &str) -> bool {
        let id = (username.to_ascii_lowercase(), hash.phc().expose().clone());
        {
            let mut c = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if c.since.elapsed() > LIFETIME {
                c.entries.clear();
                c.since = Instant::now();
            }
            let tag = ring::hmac::sign(&c.key, password.as_bytes());
            if let Some(known) = c.entries.get(&id)
                && bool::from(known.as_ref().ct_eq(tag.as_ref()))
            {
                return true;
            }
        }
        // The slow check, without holding the lock.
        if !hash.verify(password) {
            return false;
        }
        let mut c = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.entries.len() > 100_000 {
            c.entries.clear();
        }
        let tag = ring::hmac::sign(&c.key, password.as_bytes());
        c.entries.insert(id, tag);
        true
    }
}

enum SaslProgress {
    /// A challenge was sent; the client's response is awaited.
    Challenged,
    /// Authenticated: the tagged OK's code and text.
    Done((Option<String>, String)),
}

/// An AUTHENTICATE exchange in progress.
pub(crate) struct Exchange {
    tag: String,
    server: sasl::Server,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").field("tag", &self.tag).finish_non_exhaustive()
    }
}

impl Session {
    pub(super) fn cmd_login(&mut self, username: &str, password: &str) -> CmdResult {
        if !self.plaintext_auth_allowed() {
            // RFC 9051 §6.2.3: LOGINDISABLED.
            return Err(Failure::no_code(
                "PRIVACYREQUIRED",
                "LOGIN is disabled without TLS; use STARTTLS first",
            ));
        }
        let ip = self.conn.remote_ip;
        if !self.config.login_limiter.allowed(ip) {
            return Err(Failure::no_code("UNAVAILABLE", "too many failed logins; try again later"));
        }
        self.password_login(username, password, "LOGIN").map(Some)
    }

    /// Checks a user name and password (LOGIN, AUTHENTICATE PLAIN), through the cache of
    /// recent successful checks.
    fn password_login(
        &mut self,
        username: &str,
        password: &str,
        how: &str,
    ) -> Result<(Option<String>, String), Failure> {
        match self.verify_password(username, password) {
            Some(account) => self.logged_in(username, &account),
            None => Err(self.login_failed(username, how)),
        }
    }

    /// The account of `username` if `password` is its password.
    fn verify_password(&self, username: &str, password: &str) -> Option<String> {
        let creds = self.config.authenticator.credentials(username);
        let ok = match &creds {
            Some((_, c)) => match &c.password_hash {
                Some(h) => login_cache::check(username, h, password),
                None => false,
            },
            None => {
                // Spend the time a check takes, so unknown names are not told apart by timing.
                let _ = DUMMY.verify(password);
                false
            }
        };
        creds.filter(|_| ok).map(|(account, _)| account)
    }

    fn login_failed(&mut self, username: &str, how: &str) -> Failure {
        let delay = self.config.login_limiter.failed(self.conn.remote_ip);
        tracing::info!(username = %username.escape_default(), method = how, "failed login");
        if !delay.is_zero() {
            self.delay = Some(delay);
        }
        Failure::no_code("AUTHENTICATIONFAILED", "invalid credentials")
    }

    fn logged_in(
        &mut self,
        username: &str,
        account_name: &str,
    ) -> Result<(Option<String>, String), Failure> {
        let account = match self.config.authenticator.open_account(account_name) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(account = account_name, error = %e, "opening account");
                return Err(Failure::no_code("UNAVAILABLE", "account temporarily unavailable"));
            }
        };
        self.config.login_limiter.succeeded(self.conn.remote_ip);
        tracing::info!(username = %username, account = account_name, "logged in");
        let junk = self.config.authenticator.junk(account_name, &account);
        self.state = State::Authenticated(Box::new(Authenticated {
            account_name: account_name.to_string(),
            username: username.to_string(),
            account,
            junk,
            selected: None,
            notify: None,
        }));
        let caps = self.capabilities();
        Ok((Some(format!("CAPABILITY {caps}")), "logged in".to_string()))
    }

    pub(super) fn cmd_authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<Secret<Vec<u8>>>,
    ) -> CmdResult {
        let Some(mech) = Mechanism::from_name(mechanism) else {
            return Err(Failure::no_code("CANNOT", format!("unsupported mechanism {mechanism}")));
        };
        if matches!(mech, Mechanism::External | Mechanism::Login) {
            return Err(Failure::no_code("CANNOT", format!("mechanism {mechanism} not offered")));
        }
        if mech.reveals_password() && !self.plaintext_auth_allowed() {
            return Err(Failure::no_code(
                "PRIVACYREQUIRED",
                "plaintext authentication is disabled without TLS; use STARTTLS first",
            ));
        }
        if !self.config.login_limiter.allowed(self.conn.remote_ip) {
            return Err(Failure::no_code("UNAVAILABLE", "too many failed logins; try again later"));
        }
        let options = sasl::ServerOptions {
            hostname: self.config.hostname.clone(),
            channel_bindings: self.conn.channel_bindings.clone(),
        };
        let server = match sasl::Server::new(mech, options) {
            Ok(s) => s,
            Err(e) => return Err(Failure::no_code("CANNOT", e.to_string())),
        };
        if mech == Mechanism::Plain
            && let Some(r) = &initial
        {
            // PLAIN is checked like LOGIN (with the cache of successful checks).
            return self.plain(r.expose()).map(Some);
        }
        let mut ex = Box::new(Exchange { tag: tag.to_string(), server });
        let response = initial.as_ref().map(|r| r.expose().as_slice());
        match self.sasl_step(&mut ex, response)? {
            SaslProgress::Challenged => {
                self.mode = InputMode::Authenticate(ex);
                Ok(None)
            }
            SaslProgress::Done(r) => Ok(Some(r)),
        }
    }

    /// Runs the exchange as far as it goes with `response`.
    fn sasl_step(
        &mut self,
        ex: &mut Exchange,
        response: Option<&[u8]>,
    ) -> Result<SaslProgress, Failure> {
        let mech = ex.server.mechanism();
        let mut step = ex.server.step(response);
        let mut username = String::new();
        loop {
            match step {
                Ok(ServerStep::Challenge(c)) => {
                    self.out.extend_from_slice(b"+ ");
                    self.out.extend_from_slice(
                        base64::engine::general_purpose::STANDARD.encode(&c).as_bytes(),
                    );
                    self.out.extend_from_slice(b"\r\n");
                    return Ok(SaslProgress::Challenged);
                }
                Ok(ServerStep::NeedCredentials { username: u }) => {
                    let creds = self.config.authenticator.credentials(&u);
                    username = u;
                    step = ex.server.credentials(creds.as_ref().map(|(_, c)| c));
                }
                Ok(ServerStep::Authenticated(who)) => {
                    if who.authzid.as_ref().is_some_and(|z| !z.is_empty() && *z != who.username) {
                        return Err(Failure::no_code(
                            "AUTHORIZATIONFAILED",
                            "cannot act as another user",
                        ));
                    }
                    let Some((account, _)) = self.config.authenticator.credentials(&who.username)
                    else {
                        return Err(self.login_failed(&who.username, mech.name()));
                    };
                    return self.logged_in(&who.username, &account).map(SaslProgress::Done);
                }
                Ok(ServerStep::External { .. }) => {
                    return Err(Failure::no_code("CANNOT", "EXTERNAL not offered"));
                }
                Err(sasl::ServerError::Aborted { .. }) => {
                    return Err(Failure::bad("authentication aborted"));
                }
                Err(
                    e @ (sasl::ServerError::Malformed { .. }
                    | sasl::ServerError::OutOfOrder { .. }
                    | sasl::ServerError::UnsupportedExtension { .. }),
                ) => {
                    tracing::debug!(error = %e, "SASL exchange failed");
                    return Err(Failure::bad(e.to_string()));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "SASL exchange failed");
                    return Err(self.login_failed(&username, mech.name()));
                }
            }
        }
    }

    pub(super) fn step_authenticate(&mut self, mut ex: Box<Exchange>) -> bool {
        let Some(i) = memchr::memchr(b'\n', &self.inbuf) else {
            if self.inbuf.len() > 64 * 1024 {
                self.inbuf.clear();
                let tag = ex.tag.clone();
                self.tagged(&tag, "AUTHENTICATE", Err(Failure::bad("response too long")));
                return true;
            }
            self.mode = InputMode::Authenticate(ex);
            return false;
        };
        let line: Vec<u8> = self.inbuf.drain(..=i).collect();
        let line = super::trim_crlf(&line);
        let tag = ex.tag.clone();
        if line == b"*" {
            self.tagged(&tag, "AUTHENTICATE", Err(Failure::bad("authentication aborted")));
            return true;
        }
        let Ok(data) = base64::engine::general_purpose::STANDARD.decode(line) else {
            self.tagged(&tag, "AUTHENTICATE", Err(Failure::bad("response is not base64")));
            return true;
        };
        if ex.server.mechanism() == Mechanism::Plain {
            let r = self.plain(&data).map(Some);
            self.tagged(&tag, "AUTHENTICATE", r);
            return true;
        }
        match self.sasl_step(&mut ex, Some(&data)) {
            Ok(SaslProgress::Challenged) => self.mode = InputMode::Authenticate(ex),
            Ok(SaslProgress::Done(r)) => self.tagged(&tag, "AUTHENTICATE", Ok(Some(r))),
            Err(f) => self.tagged(&tag, "AUTHENTICATE", Err(f)),
        }
        true
    }
}

/// A password hash checked for unknown users, so they take as long as known ones.
static DUMMY: std::sync::LazyLock<sasl::PasswordHash> = std::sync::LazyLock::new(|| {
    sasl::PasswordHash::derive_with("not a password", &sasl::DeriveParams::default())
        .or_else(|_| sasl::PasswordHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"))
        .unwrap_or_else(|_| unreachable_hash())
});

#[allow(clippy::panic)]
fn unreachable_hash() -> sasl::PasswordHash {
    // derive_with only fails for empty passwords or bad parameters, neither of which holds.
    panic!("deriving a fixed password hash failed")
}
