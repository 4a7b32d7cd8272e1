//! A wrapper that keeps secrets out of `Debug` output and logs.

use std::fmt;

/// A secret value (a password, a SASL response, a stored key): `Debug` prints `Secret(***)`,
/// never the value, so secrets cannot leak through `{:?}`, `tracing` fields or panics.
///
/// There is deliberately no `Display` and no `PartialEq`: reading the value takes an explicit
/// [`Secret::expose`], and secrets are compared in constant time by the code that checks them.
///
/// ```
/// let password = sasl::Secret::new("hunter2".to_string());
/// assert_eq!(format!("{password:?}"), "Secret(***)");
/// assert_eq!(password.expose(), "hunter2");
/// ```
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value itself; call only where the value is needed, never to log it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new(b"pencil".to_vec());
        let nested = Some(vec![secret.clone()]);
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert!(!format!("{nested:#?}").contains("pencil"));
        assert!(!format!("{nested:?}").contains("112")); // 'p' as a byte value
        assert_eq!(secret.expose(), b"pencil");
    }
}
