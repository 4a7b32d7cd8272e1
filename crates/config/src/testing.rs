//! A small configuration for documentation examples and tests.

use std::path::Path;

use crate::Config;

/// mox.conf of [`example_config`].
pub const EXAMPLE_STATIC: &str = "DataDir: data
LogLevel: info
Hostname: mail.example.com
Listeners:
	public:
		IPs:
			- 0.0.0.0
		SMTP:
			Enabled: true
			NoSTARTTLS: true
Postmaster:
	Account: mjl
	Mailbox: Postmaster
";

/// domains.conf of [`example_config`].
pub const EXAMPLE_DYNAMIC: &str = "Domains:
	example.com:
		LocalpartCatchallSeparator: +
		DMARC:
			Localpart: dmarcreports
			Account: mjl
			Mailbox: DMARC
		Aliases:
			team:
				Addresses:
					- mjl@example.com
					- alice@example.com
				AllowMsgFrom: true
	example.org: nil
Accounts:
	alice:
		Domain: example.com
		Destinations:
			alice@example.com: nil
			@example.org:
				Mailbox: Catchall
	mjl:
		Domain: example.com
		Destinations:
			mjl@example.com: nil
";

/// A loaded example: domains example.com (catchall separator `+`, DMARC reports, alias
/// `team`) and example.org (catchall to alice), accounts mjl and alice.
pub fn example_config() -> Config {
    match crate::load_from_texts(
        Path::new("/nonexistent/mox.conf"),
        EXAMPLE_STATIC,
        EXAMPLE_DYNAMIC,
    ) {
        Ok(c) => c,
        Err(e) => panic!("example config does not load: {e}"),
    }
}
