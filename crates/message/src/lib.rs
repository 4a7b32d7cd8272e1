//! RFC 5322 and MIME messages as bytes (being built).
#![forbid(unsafe_code)]
