//! `mox localserve`'s special local parts: recipients (and senders) whose local part asks
//! for a failure, so software that sends mail can test how it handles them.
//!
//! - ending in `temperror`: fail with 451;
//! - ending in `permerror`: fail with 550;
//! - ending in a code from 400 to 600 (`user550`): fail with that code;
//! - ending in `timeout`: no answer (for an hour).
//!
//! A local part starting with `mailfrom` or `rcptto` fails at that command; others fail at
//! the end of DATA.

/// What a special local part asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalserveFailure {
    /// Reply with this code.
    Code(u16),
    /// Do not reply for an hour.
    Timeout,
}

/// The failure a local part asks for, if any.
pub fn localserve_failure(localpart: &str) -> Option<LocalserveFailure> {
    if localpart.ends_with("temperror") {
        return Some(LocalserveFailure::Code(451));
    }
    if localpart.ends_with("permerror") {
        return Some(LocalserveFailure::Code(550));
    }
    if localpart.ends_with("timeout") {
        return Some(LocalserveFailure::Timeout);
    }
    let tail = localpart.get(localpart.len().checked_sub(3)?..)?;
    let code: u16 = tail.parse().ok().filter(|_| tail.bytes().all(|b| b.is_ascii_digit()))?;
    (400..600).contains(&code).then_some(LocalserveFailure::Code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_localparts() {
        assert_eq!(localserve_failure("rcpttotemperror"), Some(LocalserveFailure::Code(451)));
        assert_eq!(localserve_failure("xpermerror"), Some(LocalserveFailure::Code(550)));
        assert_eq!(localserve_failure("user552"), Some(LocalserveFailure::Code(552)));
        assert_eq!(localserve_failure("user399"), None);
        assert_eq!(localserve_failure("mailfromtimeout"), Some(LocalserveFailure::Timeout));
        assert_eq!(localserve_failure("mjl"), None);
        assert_eq!(localserve_failure("ab"), None);
    }
}
