//! The server side of every mechanism: a step function from client responses to challenges,
//! with a pause where the caller looks up the account's [`StoredCredentials`].

use std::num::NonZeroU32;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use subtle::ConstantTimeEq as _;

use crate::Mechanism;
use crate::channel_binding::ChannelBinding;
use crate::credentials::{DEFAULT_SCRAM_ITERATIONS, StoredCredentials};
use crate::error::ServerError;
use crate::scram::{self, CbindFlag, ScramHash, SyntaxError};
use crate::secret::Secret;

/// Connection facts the server side needs.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Our host name, for the CRAM-MD5 challenge (`<random.time@hostname>`).
    pub hostname: String,
    /// The channel bindings this connection offers (empty without TLS). When not empty, the
    /// `-PLUS` mechanisms may be offered, and a plain SCRAM client that says the server lacks
    /// channel binding support (`y`) is refused as a downgrade.
    pub channel_bindings: Vec<ChannelBinding>,
}

/// What the protocol layer does next.
#[derive(Debug)]
pub enum ServerStep {
    /// Send this challenge (the protocol base64-encodes it) and pass the client's response to
    /// [`Server::step`].
    Challenge(Vec<u8>),
    /// Look up the credentials of `username` and pass them (or `None` for an unknown user) to
    /// [`Server::credentials`].
    NeedCredentials {
        /// The authentication identity the client gave.
        username: String,
    },
    /// The client proved it knows the password of `username`.
    Authenticated(Authenticated),
    /// EXTERNAL: the client asks to be authenticated by its TLS client certificate, optionally
    /// acting as `authzid`. The caller decides, from the certificate, whether that holds.
    External {
        /// The requested authorization identity; `None` means "the certificate's identity".
        authzid: Option<String>,
    },
}

/// A successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The authentication identity (whose credentials were checked).
    pub username: String,
    /// The authorization identity the client asked to act as, if any; the caller decides
    /// whether `username` may act as it.
    pub authzid: Option<String>,
}

/// A server-side SASL exchange for one mechanism.
///
/// ```
/// use sasl::{Client, Mechanism, Secret, Server, ServerOptions, ServerStep, StoredCredentials};
///
/// let stored = StoredCredentials::derive("pencil")?;
/// let mut server = Server::new(Mechanism::Plain, ServerOptions::default())?;
/// let mut client = Client::plain("user", Secret::from("pencil"));
///
/// let response = client.initial_response();
/// let ServerStep::NeedCredentials { username } = server.step(response.as_deref())? else { panic!() };
/// assert_eq!(username, "user");
/// let ServerStep::Authenticated(who) = server.credentials(Some(&stored))? else { panic!() };
/// assert_eq!(who.username, "user");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Server {
    mechanism: Mechanism,
    options: ServerOptions,
    nonce: Option<String>,
    state: State,
}

#[derive(Debug)]
enum State {
    Start,
    /// PLAIN, SCRAM, EXTERNAL: we sent an empty challenge asking for the first message.
    AwaitingFirst,
    LoginPassword {
        username: String,
    },
    CramResponse {
        challenge: String,
    },
    CheckPassword {
        username: String,
        authzid: Option<String>,
        password: Secret<String>,
    },
    CheckCram {
        username: String,
        challenge: String,
        digest: Secret<Vec<u8>>,
    },
    ScramLookup(Box<ScramFirst>),
    ScramFinal(Box<ScramVerify>),
    ScramAck(Authenticated),
    Done,
}

#[derive(Debug)]
struct ScramFirst {
    first: scram::ClientFirst,
    cb_data: Vec<u8>,
}

#[derive(Debug)]
struct ScramVerify {
    first: ScramFirst,
    server_first: String,
    nonce: String,
    stored_key: Secret<Vec<u8>>,
    server_key: Secret<Vec<u8>>,
    /// False for an unknown user: the exchange runs to the end and then fails, so the client
    /// cannot tell unknown users from wrong passwords.
    known: bool,
}

impl Server {
    /// Starts an exchange. A `-PLUS` mechanism needs channel bindings in `options`.
    pub fn new(mechanism: Mechanism, options: ServerOptions) -> Result<Server, ServerError> {
        if mechanism.is_plus() && options.channel_bindings.is_empty() {
            return Err(ServerError::ChannelBindingUnsupported {
                mechanism,
                requested: mechanism.name().to_string(),
            });
        }
        Ok(Server { mechanism, options, nonce: None, state: State::Start })
    }

    /// Replaces the random server nonce (SCRAM) or challenge (CRAM-MD5). Only for replaying
    /// published test vectors: a fixed nonce in production makes replay attacks possible.
    pub fn with_nonce(mut self, nonce: &str) -> Server {
        self.nonce = Some(nonce.to_string());
        self
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Feeds the client's next message: `None` when the AUTH command had no initial response,
    /// `Some(bytes)` (possibly empty) otherwise. Every error ends the exchange.
    pub fn step(&mut self, response: Option<&[u8]>) -> Result<ServerStep, ServerError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        let result = self.step_state(state, response);
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    /// Continues after [`ServerStep::NeedCredentials`] with the account's stored credentials,
    /// or `None` if there is no such account.
    pub fn credentials(
        &mut self,
        credentials: Option<&StoredCredentials>,
    ) -> Result<ServerStep, ServerError> {
        let mechanism = self.mechanism;
        let state = std::mem::replace(&mut self.state, State::Done);
        let invalid = ServerError::InvalidCredentials { mechanism };
        let unavailable = ServerError::CredentialsUnavailable { mechanism };
        match state {
            State::CheckPassword { username, authzid, password } => {
                let hash = credentials
                    .ok_or(invalid.clone())?
                    .password_hash
                    .as_ref()
                    .ok_or(unavailable)?;
                if !hash.verify(password.expose()) {
                    return Err(invalid);
                }
                Ok(ServerStep::Authenticated(Authenticated { username, authzid }))
            }
            State::CheckCram { username, challenge, digest } => {
                let stored =
                    credentials.ok_or(invalid.clone())?.cram_md5.as_ref().ok_or(unavailable)?;
                let expected = stored.digest(challenge.as_bytes());
                if !bool::from(expected.ct_eq(digest.expose().as_slice())) {
                    return Err(invalid);
                }
                Ok(ServerStep::Authenticated(Authenticated { username, authzid: None }))
            }
            State::ScramLookup(first) => {
                let hash = mechanism.scram_hash().unwrap_or(ScramHash::Sha256);
                let (salt, iterations, stored_key, server_key, known) = match credentials {
                    Some(credentials) => {
                        let stored = credentials.scram(hash).ok_or(unavailable)?;
                        (
                            stored.salt().to_vec(),
                            stored.iterations(),
                            stored.stored_key().clone(),
                            stored.server_key().clone(),
                            true,
                        )
                    }
                    None => {
                        let fake = unknown_user_salt(&first.first.username);
                        let iterations =
                            NonZeroU32::new(DEFAULT_SCRAM_ITERATIONS).unwrap_or(NonZeroU32::MIN);
                        (fake, iterations, Secret::new(Vec::new()), Secret::new(Vec::new()), false)
                    }
                };
                let server_nonce = self.nonce.clone().unwrap_or_else(scram::random_nonce);
                let nonce = format!("{}{}", first.first.nonce, server_nonce);
                let server_first = format!("r={nonce},s={},i={iterations}", BASE64.encode(salt));
                self.state = State::ScramFinal(Box::new(ScramVerify {
                    first: *first,
                    server_first: server_first.clone(),
                    nonce,
                    stored_key,
                    server_key,
                    known,
                }));
                Ok(ServerStep::Challenge(server_first.into_bytes()))
            }
            other => {
                self.state = other;
                Err(ServerError::OutOfOrder { mechanism, reason: "credentials were not asked for" })
            }
        }
    }

    fn step_state(
        &mut self,
        state: State,
        response: Option<&[u8]>,
    ) -> Result<ServerStep, ServerError> {
        let mechanism = self.mechanism;
        let malformed = |reason| ServerError::Malformed { mechanism, reason };
        let out_of_order =
            ServerError::OutOfOrder { mechanism, reason: "response after the exchange ended" };
        match (state, response) {
            (State::Start, None) => match mechanism {
                Mechanism::Login => {
                    // LOGIN without initial response: ask for the username; its answer
                    // arrives as if it were the initial response.
                    self.state = State::AwaitingFirst;
                    Ok(ServerStep::Challenge(b"Username:".to_vec()))
                }
                Mechanism::CramMd5 => {
                    let challenge = match &self.nonce {
                        Some(nonce) => nonce.clone(),
                        None => format!(
                            "<{}.{}@{}>",
                            random_digits(),
                            unix_time(),
                            self.options.hostname
                        ),
                    };
                    self.state = State::CramResponse { challenge: challenge.clone() };
                    Ok(ServerStep::Challenge(challenge.into_bytes()))
                }
                _ => {
                    self.state = State::AwaitingFirst;
                    Ok(ServerStep::Challenge(Vec::new()))
                }
            },
            (State::Start | State::AwaitingFirst, Some(first)) => self.first_message(first),
            (State::LoginPassword { username }, Some(password)) => {
                let password = String::from_utf8(password.to_vec())
                    .map_err(|_| malformed("password not UTF-8"))?;
                self.state = State::CheckPassword {
                    username: username.clone(),
                    authzid: None,
                    password: Secret::new(password),
                };
                Ok(ServerStep::NeedCredentials { username })
            }
            (State::CramResponse { challenge }, Some(response)) => {
                // "username SP digest", digest = 32 lowercase hex digits (RFC 2195 §2).
                let text = std::str::from_utf8(response).map_err(|_| malformed("not UTF-8"))?;
                let (username, hex) = text.rsplit_once(' ').ok_or(malformed("missing digest"))?;
                if username.is_empty() || hex.len() != 32 {
                    return Err(malformed("expected username and 32 hex digits"));
                }
                let digest = decode_hex(hex).ok_or(malformed("digest not hex"))?;
                self.state = State::CheckCram {
                    username: username.to_string(),
                    challenge,
                    digest: Secret::new(digest),
                };
                Ok(ServerStep::NeedCredentials { username: username.to_string() })
            }
            (State::ScramFinal(verify), Some(response)) => self.scram_final(*verify, response),
            (State::ScramAck(authenticated), Some(ack)) => {
                if !ack.is_empty() {
                    return Err(malformed("expected an empty response to server-final-message"));
                }
                Ok(ServerStep::Authenticated(authenticated))
            }
            (_, None) => Err(malformed("missing response")),
            (
                State::CheckPassword { .. } | State::CheckCram { .. } | State::ScramLookup(_),
                Some(_),
            ) => Err(ServerError::OutOfOrder { mechanism, reason: "credentials are needed first" }),
            (State::Done, Some(_)) => Err(out_of_order),
        }
    }

    fn first_message(&mut self, message: &[u8]) -> Result<ServerStep, ServerError> {
        let mechanism = self.mechanism;
        let malformed = |reason| ServerError::Malformed { mechanism, reason };
        match mechanism {
            Mechanism::Plain => {
                // message = [authzid] UTF8NUL authcid UTF8NUL passwd   (RFC 4616 §2)
                let mut parts = message.split(|&b| b == 0);
                let (Some(authzid), Some(authcid), Some(password), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(malformed("expected authzid NUL authcid NUL password"));
                };
                let utf8 = |bytes: &[u8]| {
                    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("not UTF-8"))
                };
                let (authzid, username, password) =
                    (utf8(authzid)?, utf8(authcid)?, utf8(password)?);
                if username.is_empty() || password.is_empty() {
                    return Err(malformed("empty username or password"));
                }
                let authzid = (!authzid.is_empty() && authzid != username).then_some(authzid);
                self.state = State::CheckPassword {
                    username: username.clone(),
                    authzid,
                    password: Secret::new(password),
                };
                Ok(ServerStep::NeedCredentials { username })
            }
            Mechanism::Login => {
                let username = String::from_utf8(message.to_vec())
                    .map_err(|_| malformed("username not UTF-8"))?;
                if username.is_empty() {
                    return Err(malformed("empty username"));
                }
                self.state = State::LoginPassword { username };
                Ok(ServerStep::Challenge(b"Password:".to_vec()))
            }
            Mechanism::External => {
                let authzid = String::from_utf8(message.to_vec())
                    .map_err(|_| malformed("authzid not UTF-8"))?;
                self.state = State::Done;
                Ok(ServerStep::External { authzid: (!authzid.is_empty()).then_some(authzid) })
            }
            Mechanism::CramMd5 => Err(malformed("CRAM-MD5 has no initial response")),
            Mechanism::ScramSha1
            | Mechanism::ScramSha256
            | Mechanism::ScramSha1Plus
            | Mechanism::ScramSha256Plus => {
                let first = scram::parse_client_first(message).map_err(|e| match e {
                    SyntaxError::Malformed(reason) => ServerError::Malformed { mechanism, reason },
                    SyntaxError::MandatoryExtension => {
                        ServerError::UnsupportedExtension { mechanism }
                    }
                })?;
                let unsupported = |requested: &str| ServerError::ChannelBindingUnsupported {
                    mechanism,
                    requested: requested.to_string(),
                };
                let cb_data = match (&first.cbind, mechanism.is_plus()) {
                    (CbindFlag::NotSupported, false) => Vec::new(),
                    (CbindFlag::ServerLacksSupport, false) => {
                        if !self.options.channel_bindings.is_empty() {
                            return Err(ServerError::Downgrade { mechanism });
                        }
                        Vec::new()
                    }
                    (CbindFlag::Bound(name), true) => self
                        .options
                        .channel_bindings
                        .iter()
                        .find(|cb| cb.kind().name() == name)
                        .ok_or_else(|| unsupported(name))?
                        .data()
                        .to_vec(),
                    (CbindFlag::Bound(name), false) => return Err(unsupported(name)),
                    (CbindFlag::NotSupported, true) => return Err(unsupported("n")),
                    (CbindFlag::ServerLacksSupport, true) => return Err(unsupported("y")),
                };
                let username = first.username.clone();
                self.state = State::ScramLookup(Box::new(ScramFirst { first, cb_data }));
                Ok(ServerStep::NeedCredentials { username })
            }
        }
    }

    fn scram_final(
        &mut self,
        verify: ScramVerify,
        response: &[u8],
    ) -> Result<ServerStep, ServerError> {
        let mechanism = self.mechanism;
        let hash = mechanism.scram_hash().unwrap_or(ScramHash::Sha256);
        let last = scram::parse_client_final(response).map_err(|e| match e {
            SyntaxError::Malformed(reason) => ServerError::Malformed { mechanism, reason },
            SyntaxError::MandatoryExtension => ServerError::UnsupportedExtension { mechanism },
        })?;
        if last.nonce != verify.nonce {
            return Err(ServerError::Malformed { mechanism, reason: "nonce does not match" });
        }
        // c= must be exactly our gs2-header followed by our channel's binding data: a relaying
        // man in the middle has a different TLS channel and thus different data.
        let mut expected_cb = verify.first.first.gs2_header.as_bytes().to_vec();
        expected_cb.extend_from_slice(&verify.first.cb_data);
        if !bool::from(last.channel_binding.ct_eq(&expected_cb)) {
            return Err(ServerError::ChannelBindingMismatch { mechanism });
        }
        if !verify.known || last.proof.len() != hash.output_len() {
            return Err(ServerError::InvalidCredentials { mechanism });
        }
        let auth_message =
            format!("{},{},{}", verify.first.first.bare, verify.server_first, last.without_proof);
        let client_signature = hash.hmac(verify.stored_key.expose(), auth_message.as_bytes());
        let client_key = scram::xor(&last.proof, &client_signature);
        if !bool::from(hash.hash(&client_key).ct_eq(verify.stored_key.expose())) {
            return Err(ServerError::InvalidCredentials { mechanism });
        }
        let server_signature = hash.hmac(verify.server_key.expose(), auth_message.as_bytes());
        let first = verify.first.first;
        self.state =
            State::ScramAck(Authenticated { username: first.username, authzid: first.authzid });
        Ok(ServerStep::Challenge(format!("v={}", BASE64.encode(server_signature)).into_bytes()))
    }
}

/// A stable salt for an unknown user, so probing a name twice gives the same salt, as for a
/// real account.
fn unknown_user_salt(username: &str) -> Vec<u8> {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    let key = KEY.get_or_init(crate::random_bytes::<32>);
    ScramHash::Sha256.hmac(key, username.as_bytes())[..16].to_vec()
}

fn random_digits() -> u64 {
    u64::from_le_bytes(crate::random_bytes::<8>()) % 10_000_000_000
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(*pair.get(1)?)?))
        .collect()
}
