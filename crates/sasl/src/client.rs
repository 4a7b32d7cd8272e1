//! The client side of every mechanism: a step function from server challenges to responses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use subtle::ConstantTimeEq as _;

use crate::Mechanism;
use crate::channel_binding::ChannelBinding;
use crate::credentials::{CramMd5Credentials, prepared};
use crate::error::ClientError;
use crate::scram::{self, ScramHash, ServerFinal, SyntaxError};
use crate::secret::Secret;

/// The largest SCRAM iteration count a client computes: beyond this a server (or a man in the
/// middle) could make us spin for minutes.
pub const MAX_SCRAM_ITERATIONS: u64 = 1_000_000;

/// What a SCRAM client does about channel binding (RFC 5802 §6).
#[derive(Debug, Clone)]
pub enum ClientChannelBinding {
    /// No channel binding available here (no TLS): GS2 flag `n`.
    Unsupported,
    /// We could bind, but the server did not offer a `-PLUS` mechanism: GS2 flag `y`, so a
    /// server that does support it detects that its `-PLUS` offer was stripped.
    ServerLacksSupport,
    /// Bind to this channel: the `-PLUS` mechanism, GS2 flag `p=<type>`.
    Bind(ChannelBinding),
}

/// A client-side SASL exchange.
///
/// Drive it with the protocol's framing (base64 in SMTP and IMAP): send
/// [`initial_response`](Client::initial_response) with the AUTH command if the protocol allows
/// one, answer each server challenge with [`step`](Client::step), and when the server reports
/// success, call [`finish`](Client::finish), which fails if the server never proved itself
/// (SCRAM).
///
/// ```
/// use sasl::{Client, ClientChannelBinding, ScramHash, Secret};
///
/// let mut client = Client::scram(ScramHash::Sha256, "user", Secret::from("pencil"),
///     ClientChannelBinding::Unsupported);
/// assert_eq!(client.mechanism().name(), "SCRAM-SHA-256");
/// let first = client.initial_response().unwrap();
/// assert!(first.starts_with(b"n,,n=user,r="));
/// ```
#[derive(Debug)]
pub struct Client {
    mechanism: Mechanism,
    state: State,
}

#[derive(Debug)]
enum State {
    /// PLAIN and EXTERNAL: one message, sent as initial response or on the first challenge.
    Single {
        message: Secret<Vec<u8>>,
        sent: bool,
    },
    Login {
        username: String,
        password: Secret<String>,
        sent: u8,
    },
    CramMd5 {
        username: String,
        password: Secret<String>,
        sent: bool,
    },
    Scram(Box<ScramClient>),
}

#[derive(Debug)]
struct ScramClient {
    hash: ScramHash,
    username: String,
    password: Secret<String>,
    gs2_header: String,
    cb_data: Vec<u8>,
    nonce: String,
    stage: ScramStage,
}

#[derive(Debug)]
enum ScramStage {
    Initial,
    SentFirst { bare: String },
    SentFinal { server_signature: Secret<Vec<u8>> },
    Verified,
    Failed,
}

impl Client {
    /// A client for a mechanism by name: the usual entry point when a mechanism was chosen from
    /// a server's list. `channel_binding` is the TLS connection's binding data (`None` without
    /// TLS); `-PLUS` mechanisms require it, plain SCRAM sends the `n` flag regardless (use
    /// [`Client::scram`] for the `y` flag). EXTERNAL sends `username` as authorization
    /// identity if it is not empty.
    pub fn new(
        mechanism: Mechanism,
        username: &str,
        password: Secret<String>,
        channel_binding: Option<ChannelBinding>,
    ) -> Result<Client, ClientError> {
        Ok(match mechanism {
            Mechanism::Plain => Client::plain(username, password),
            Mechanism::Login => Client::login(username, password),
            Mechanism::CramMd5 => Client::cram_md5(username, password),
            Mechanism::External => Client::external((!username.is_empty()).then_some(username)),
            Mechanism::ScramSha1
            | Mechanism::ScramSha256
            | Mechanism::ScramSha1Plus
            | Mechanism::ScramSha256Plus => {
                let hash = mechanism.scram_hash().unwrap_or(ScramHash::Sha256);
                let binding = if mechanism.is_plus() {
                    ClientChannelBinding::Bind(
                        channel_binding.ok_or(ClientError::ChannelBindingRequired { mechanism })?,
                    )
                } else {
                    ClientChannelBinding::Unsupported
                };
                Client::scram(hash, username, password, binding)
            }
        })
    }

    /// PLAIN (RFC 4616) without authorization identity.
    pub fn plain(username: &str, password: Secret<String>) -> Client {
        Client::plain_as("", username, password)
    }

    /// PLAIN (RFC 4616) acting as `authzid` (empty for none).
    pub fn plain_as(authzid: &str, username: &str, password: Secret<String>) -> Client {
        let mut message = Vec::new();
        message.extend_from_slice(authzid.as_bytes());
        message.push(0);
        message.extend_from_slice(username.as_bytes());
        message.push(0);
        message.extend_from_slice(prepared(password.expose()).as_bytes());
        Client {
            mechanism: Mechanism::Plain,
            state: State::Single { message: Secret::new(message), sent: false },
        }
    }

    /// LOGIN (draft-murchison-sasl-login): username and password, each on request.
    pub fn login(username: &str, password: Secret<String>) -> Client {
        Client {
            mechanism: Mechanism::Login,
            state: State::Login { username: username.to_string(), password, sent: 0 },
        }
    }

    /// CRAM-MD5 (RFC 2195).
    pub fn cram_md5(username: &str, password: Secret<String>) -> Client {
        Client {
            mechanism: Mechanism::CramMd5,
            state: State::CramMd5 { username: username.to_string(), password, sent: false },
        }
    }

    /// SCRAM-SHA-1 or SCRAM-SHA-256, or their `-PLUS` variant when binding to a channel.
    pub fn scram(
        hash: ScramHash,
        username: &str,
        password: Secret<String>,
        binding: ClientChannelBinding,
    ) -> Client {
        let (flag, cb_data, plus) = match binding {
            ClientChannelBinding::Unsupported => ("n".to_string(), Vec::new(), false),
            ClientChannelBinding::ServerLacksSupport => ("y".to_string(), Vec::new(), false),
            ClientChannelBinding::Bind(cb) => {
                (format!("p={}", cb.kind().name()), cb.data().to_vec(), true)
            }
        };
        let mechanism = Mechanism::scram(hash, plus);
        Client {
            mechanism,
            state: State::Scram(Box::new(ScramClient {
                hash,
                username: username.to_string(),
                password,
                gs2_header: format!("{flag},,"),
                cb_data,
                nonce: scram::random_nonce(),
                stage: ScramStage::Initial,
            })),
        }
    }

    /// EXTERNAL (RFC 4422 appendix A): identity from the TLS client certificate, optionally
    /// asking to act as `authzid`.
    pub fn external(authzid: Option<&str>) -> Client {
        let message = authzid.unwrap_or_default().as_bytes().to_vec();
        Client {
            mechanism: Mechanism::External,
            state: State::Single { message: Secret::new(message), sent: false },
        }
    }

    /// Replaces the random SCRAM client nonce. Only for replaying published test vectors: a
    /// fixed nonce in production makes replay attacks possible. No effect on other mechanisms.
    pub fn with_nonce(mut self, nonce: &str) -> Client {
        if let State::Scram(scram) = &mut self.state {
            scram.nonce = nonce.to_string();
        }
        self
    }

    /// The mechanism this client speaks.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The response to send with the AUTH command, for mechanisms that start with one (PLAIN,
    /// SCRAM, EXTERNAL); `None` for LOGIN and CRAM-MD5 and when called a second time. An empty
    /// response is `Some(vec![])` (SMTP sends it as `=`).
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        match &mut self.state {
            State::Single { message, sent: sent @ false } => {
                *sent = true;
                Some(message.expose().clone())
            }
            State::Scram(scram) if matches!(scram.stage, ScramStage::Initial) => {
                Some(scram.client_first())
            }
            _ => None,
        }
    }

    /// The response to a server challenge (already base64-decoded by the protocol layer).
    pub fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        let mechanism = self.mechanism;
        match &mut self.state {
            State::Single { message, sent } => {
                // A protocol without initial responses sends an empty challenge first.
                if *sent {
                    return Err(ClientError::UnexpectedChallenge { mechanism });
                }
                *sent = true;
                Ok(message.expose().clone())
            }
            State::Login { username, password, sent } => {
                // Challenges are "Username:" and "Password:" by convention; servers vary, so
                // answer by position, not by text.
                *sent += 1;
                match *sent {
                    1 => Ok(username.as_bytes().to_vec()),
                    2 => Ok(prepared(password.expose()).as_bytes().to_vec()),
                    _ => Err(ClientError::UnexpectedChallenge { mechanism }),
                }
            }
            State::CramMd5 { username, password, sent } => {
                if *sent {
                    return Err(ClientError::UnexpectedChallenge { mechanism });
                }
                if challenge.is_empty() {
                    return Err(ClientError::MalformedChallenge {
                        mechanism,
                        reason: "empty challenge",
                    });
                }
                *sent = true;
                let digest = CramMd5Credentials::derive(password.expose()).digest(challenge);
                let mut response = format!("{username} ").into_bytes();
                for b in digest {
                    response.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                Ok(response)
            }
            State::Scram(scram) => scram.step(mechanism, challenge),
        }
    }

    /// Call when the server reports success: fails if the server did not prove knowledge of
    /// the password (SCRAM without a verified `v=`), so success claimed by an impostor is
    /// refused.
    pub fn finish(&self) -> Result<(), ClientError> {
        match &self.state {
            State::Scram(scram) if !matches!(scram.stage, ScramStage::Verified) => {
                Err(ClientError::ServerNotVerified { mechanism: self.mechanism })
            }
            _ => Ok(()),
        }
    }
}

impl ScramClient {
    fn client_first(&mut self) -> Vec<u8> {
        let bare = format!("n={},r={}", scram::encode_saslname(&self.username), self.nonce);
        let message = format!("{}{}", self.gs2_header, bare);
        self.stage = ScramStage::SentFirst { bare };
        message.into_bytes()
    }

    fn step(&mut self, mechanism: Mechanism, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        let stage = std::mem::replace(&mut self.stage, ScramStage::Failed);
        let malformed = |e: SyntaxError| ClientError::MalformedChallenge {
            mechanism,
            reason: match e {
                SyntaxError::Malformed(reason) => reason,
                SyntaxError::MandatoryExtension => "unsupported mandatory extension",
            },
        };
        let text = std::str::from_utf8(challenge)
            .map_err(|_| ClientError::MalformedChallenge { mechanism, reason: "not UTF-8" });
        match stage {
            // The protocol had no initial response: the server's empty challenge asks for it.
            ScramStage::Initial if challenge.is_empty() => Ok(self.client_first()),
            ScramStage::Initial => Err(ClientError::MalformedChallenge {
                mechanism,
                reason: "challenge before client-first-message",
            }),
            ScramStage::SentFirst { bare } => {
                let server_first = text?;
                let parsed = scram::parse_server_first(server_first).map_err(malformed)?;
                if parsed.nonce.len() <= self.nonce.len() || !parsed.nonce.starts_with(&self.nonce)
                {
                    return Err(ClientError::NonceMismatch { mechanism });
                }
                let iterations = u32::try_from(parsed.iterations)
                    .ok()
                    .filter(|&i| u64::from(i) <= MAX_SCRAM_ITERATIONS)
                    .and_then(std::num::NonZeroU32::new)
                    .ok_or(ClientError::IterationCount {
                        mechanism,
                        iterations: parsed.iterations,
                    })?;

                let mut cbind_input = self.gs2_header.as_bytes().to_vec();
                cbind_input.extend_from_slice(&self.cb_data);
                let without_proof = format!("c={},r={}", BASE64.encode(&cbind_input), parsed.nonce);
                let auth_message = format!("{bare},{server_first},{without_proof}");

                let hash = self.hash;
                let salted = hash.salted_password(
                    prepared(self.password.expose()).as_bytes(),
                    &parsed.salt,
                    iterations,
                );
                let client_key = hash.client_key(&salted);
                let stored_key = hash.hash(&client_key);
                let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
                let proof = scram::xor(&client_key, &client_signature);
                let server_signature =
                    hash.hmac(&hash.server_key(&salted), auth_message.as_bytes());
                self.stage =
                    ScramStage::SentFinal { server_signature: Secret::new(server_signature) };
                Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
            }
            ScramStage::SentFinal { server_signature } => {
                match scram::parse_server_final(text?).map_err(malformed)? {
                    ServerFinal::Error(value) => Err(ClientError::ServerError { mechanism, value }),
                    ServerFinal::Verifier(signature) => {
                        if bool::from(signature.ct_eq(server_signature.expose())) {
                            self.stage = ScramStage::Verified;
                            Ok(Vec::new())
                        } else {
                            Err(ClientError::ServerSignatureMismatch { mechanism })
                        }
                    }
                }
            }
            ScramStage::Verified | ScramStage::Failed => {
                Err(ClientError::UnexpectedChallenge { mechanism })
            }
        }
    }
}
