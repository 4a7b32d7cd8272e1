//! `mox dkim gened25519|genrsa|lookup|txt|verify|sign`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context as _;
use dkim::{PrivateKey, Record, Selector, Signer, VerifyOptions};

use crate::cmd::{Run, domain_arg, usage_error};
use crate::context::Context;

/// Generate DKIM keys, print their DNS records, look up, verify and make DKIM signatures.
///
/// DKIM (RFC 6376) lets a domain sign the messages it sends; receivers verify the signature
/// with the public key the domain publishes in DNS, at <selector>._domainkey.<domain>.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Dkim {
    Gened25519(Gened25519),
    Genrsa(Genrsa),
    Lookup(Lookup),
    Txt(Txt),
    Verify(Verify),
    Sign(Sign),
}

impl Run for Dkim {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Dkim::Gened25519(c) => c.run(ctx).await,
            Dkim::Genrsa(c) => c.run(ctx).await,
            Dkim::Lookup(c) => c.run(ctx).await,
            Dkim::Txt(c) => c.run(ctx).await,
            Dkim::Verify(c) => c.run(ctx).await,
            Dkim::Sign(c) => c.run(ctx).await,
        }
    }
}

/// Generate a new ed25519 key for use with DKIM.
///
/// Ed25519 keys are much smaller than RSA keys of comparable cryptographic strength. This is
/// convenient because of maximum DNS message sizes. At the time of writing, not many mail
/// servers appear to support ed25519 DKIM keys though, so it is recommended to sign messages
/// with both RSA and ed25519 keys.
///
/// The key is printed as PKCS#8 PEM, after a line saying it is a DKIM key; save it as
/// $selector._domainkey.$domain.ed25519key.pkcs8.pem.
#[derive(Debug, clap::Args)]
pub(crate) struct Gened25519 {}

impl Run for Gened25519 {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let key = PrivateKey::generate_ed25519().context("making dkim ed25519 key")?;
        ctx.stdout().write_all(key.to_pem().as_bytes())?;
        Ok(())
    }
}

/// Generate a new 2048 bit RSA private key for use with DKIM.
///
/// The generated file is in PEM format (PKCS#8), and has a comment it is generated for use
/// with DKIM, by mox. Save it as $selector._domainkey.$domain.rsakey.pkcs8.pem.
#[derive(Debug, clap::Args)]
pub(crate) struct Genrsa {}

impl Run for Genrsa {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let key = PrivateKey::generate_rsa(2048).context("making rsa private key")?;
        ctx.stdout().write_all(key.to_pem().as_bytes())?;
        Ok(())
    }
}

/// Lookup and print the DKIM record for the selector at the domain.
///
/// The record is looked up at <selector>._domainkey.<domain>. Printed: the TXT record, whether
/// the DNS answer was DNSSEC-verified, and the record's fields. A missing or invalid record
/// is an error (exit status 1).
#[derive(Debug, clap::Args)]
pub(crate) struct Lookup {
    /// Selector of the key, e.g. 2024a.
    #[arg(value_name = "selector")]
    selector: String,
    /// Domain the key is for, e.g. example.com.
    #[arg(value_name = "domain")]
    domain: String,
}

impl Run for Lookup {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let selector = Selector::parse(&self.selector)
            .map_err(|e| usage_error(format!("selector {:?}: {e}", self.selector)))?;
        let domain = domain_arg("domain", &self.domain)?;
        let resolver = ctx.resolver()?;
        let found = dkim::lookup_key(&*resolver, &selector, &domain)
            .await
            .map_err(|e| anyhow::anyhow!("dkim lookup for {selector} at {domain}: {e}"))?;
        let r = &found.record;
        let mut out = ctx.stdout();
        writeln!(out, "{}", found.txt)?;
        writeln!(out, "({})", if found.authentic { "with dnssec" } else { "without dnssec" })?;
        writeln!(out, "version: {}", r.version.as_deref().unwrap_or("(none)"))?;
        let key = match r.public_key() {
            Ok(k) => format!("{} ({} bits)", r.key_type, k.bits()),
            Err(_) if r.is_revoked() => format!("{} (revoked: empty p=)", r.key_type),
            Err(e) => format!("{} ({e})", r.key_type),
        };
        writeln!(out, "key: {key}")?;
        let list = |l: &[std::borrow::Cow<'_, str>], empty: &str| {
            if l.is_empty() { empty.to_string() } else { l.join(", ") }
        };
        writeln!(out, "hashes: {}", list(&r.hashes, "any"))?;
        writeln!(out, "services: {}", list(&r.services, "any"))?;
        let mut flags: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        for f in &r.flags {
            flags.push(match &**f {
                "y" => "y (testing)".into(),
                "s" => "s (i= must equal d=)".into(),
                other => other.into(),
            });
        }
        writeln!(out, "flags: {}", list(&flags, "none"))?;
        if let Some(n) = &r.notes {
            writeln!(out, "notes: {n}")?;
        }
        Ok(())
    }
}

/// Print a DKIM DNS TXT record with the public key derived from the private key read from stdin.
///
/// The DNS should be configured as a TXT record at $selector._domainkey.$domain. The record is
/// printed as a zone file line, split into strings of at most 255 bytes as DNS requires.
#[derive(Debug, clap::Args)]
pub(crate) struct Txt {}

impl Run for Txt {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let pem = ctx.read_stdin()?;
        let pem = String::from_utf8(pem).context("reading dkim private key from stdin")?;
        let key = PrivateKey::from_pem(&pem).context("reading dkim private key from stdin")?;
        let record = Record::for_public_key(&key.public_key()).to_string();
        let strings: Vec<String> = record
            .as_bytes()
            .chunks(255)
            // The record is ASCII, so every chunk is text.
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        writeln!(ctx.stdout(), "<selector>._domainkey.<your.domain.> TXT {}", strings.join(" "))?;
        Ok(())
    }
}

/// Verify the DKIM signatures in a message and print the results.
///
/// The message is parsed, and the DKIM-Signature headers are validated. Validation of older
/// messages may fail because the DNS records have been removed or changed by now, or because
/// the signature header may have specified an expiration time that was passed.
///
/// For each signature its result (pass, fail, neutral, temperror, permerror, or none for a
/// failed signature whose key is in testing mode) is printed with the reason, the details of
/// the signature and key, and the Authentication-Results form. The body is read as a stream,
/// so large messages are not held in memory. Give "-" to read the message from stdin.
#[derive(Debug, clap::Args)]
pub(crate) struct Verify {
    /// The message file, in internet message format (CRLF or LF line endings).
    #[arg(value_name = "message")]
    message: PathBuf,
}

impl Run for Verify {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let resolver = ctx.resolver()?;
        let options = VerifyOptions::default();
        let mut input = open(ctx, &self.message)?;
        let header = read_header_section(&mut input)
            .with_context(|| format!("reading {}", self.message.display()))?;
        let mut verification = dkim::Verification::new(&header, &options)
            .with_context(|| format!("verifying {}", self.message.display()))?;
        verification.update_body(&header[verification.body_offset()..]);
        stream(&mut input, |chunk| verification.update_body(chunk))
            .with_context(|| format!("reading {}", self.message.display()))?;
        let results = verification.finish(&*resolver).await;

        let mut out = ctx.stdout();
        if results.is_empty() {
            writeln!(out, "no DKIM signatures")?;
        }
        for (i, r) in results.iter().enumerate() {
            writeln!(out, "signature {} of {}: {}", i + 1, results.len(), r.status)?;
            if let Some(reason) = &r.reason {
                writeln!(out, "\treason: {reason}")?;
            }
            if let Some(sig) = &r.signature {
                writeln!(out, "\tdomain: {}", sig.domain)?;
                writeln!(out, "\tselector: {}", sig.selector)?;
                writeln!(out, "\talgorithm: {}", sig.algorithm)?;
                writeln!(out, "\tcanonicalization: {}", sig.canonicalization)?;
                if let Some(i) = &sig.identity {
                    writeln!(out, "\tidentity: {i}")?;
                }
                writeln!(out, "\tsigned headers: {}", sig.signed_headers)?;
                if let Some(t) = sig.timestamp {
                    writeln!(out, "\tsigned at: {t}")?;
                }
                if let Some(x) = sig.expiration {
                    writeln!(out, "\texpires at: {x}")?;
                }
            } else {
                if let Some(d) = &r.domain {
                    writeln!(out, "\tdomain: {d}")?;
                }
                if let Some(s) = &r.selector {
                    writeln!(out, "\tselector: {s}")?;
                }
            }
            if let Some(record) = &r.record {
                let bits = record.public_key().map(|k| k.bits()).unwrap_or(0);
                let dnssec = if r.record_authentic { "with dnssec" } else { "without dnssec" };
                let testing = if r.testing { ", testing mode" } else { "" };
                writeln!(out, "\tkey: {} {bits} bits ({dnssec}{testing})", record.key_type)?;
            }
            writeln!(out, "\tauthentication-results: {}", r.method_result())?;
        }
        Ok(())
    }
}

/// Sign a message, adding DKIM-Signature headers based on the domain in the From header.
///
/// DKIM-Signature headers are generated, one per key, and the message is printed with them
/// prepended. Until domains are configured, the signing domain, selectors and keys are given
/// as flags: the domain defaults to that of the From address; give --selector and --key once
/// per key, in pairs (for example an RSA and an Ed25519 key). Signatures are relaxed/relaxed,
/// over From, To, Cc, Bcc, Reply-To, References, In-Reply-To, Subject, Date, Message-ID,
/// Content-Type, Content-Transfer-Encoding and MIME-Version, each listed once more than it
/// occurs so none can be added later. The body is read as a stream. Give "-" to read the
/// message from stdin.
#[derive(Debug, clap::Args)]
pub(crate) struct Sign {
    /// Signing domain (d=); default: the domain of the From address.
    #[arg(long, value_name = "domain")]
    domain: Option<String>,
    /// Selector (s=) of a key; once per --key, in the same order.
    #[arg(long, value_name = "selector", required = true)]
    selector: Vec<String>,
    /// PEM file with a private key (PKCS#8, as mox dkim genrsa and gened25519 write, or
    /// PKCS#1 RSA); once per --selector.
    #[arg(long, value_name = "file", required = true)]
    key: Vec<PathBuf>,
    /// The message file, in internet message format (CRLF or LF line endings).
    #[arg(value_name = "message")]
    message: PathBuf,
}

impl Run for Sign {
    async fn run(self, ctx: &Context) -> anyhow::Result<()> {
        if self.selector.len() != self.key.len() {
            return Err(usage_error(format!(
                "{} --selector but {} --key: give them in pairs",
                self.selector.len(),
                self.key.len()
            )));
        }
        let mut input = open(ctx, &self.message)?;
        let header = read_header_section(&mut input)
            .with_context(|| format!("reading {}", self.message.display()))?;
        let domain = match &self.domain {
            Some(d) => domain_arg("domain", d)?,
            None => from_domain(&header)?,
        };
        let mut signers = Vec::new();
        for (selector, key_path) in self.selector.iter().zip(&self.key) {
            let selector = Selector::parse(selector)
                .map_err(|e| usage_error(format!("selector {selector:?}: {e}")))?;
            let pem = std::fs::read_to_string(key_path)
                .with_context(|| format!("reading key {}", key_path.display()))?;
            let key = PrivateKey::from_pem(&pem)
                .with_context(|| format!("reading key {}", key_path.display()))?;
            signers.push(Signer::new(domain.clone(), selector, key));
        }

        let mut signing = dkim::Signing::new(&signers, &header, SystemTime::now())
            .with_context(|| format!("signing {}", self.message.display()))?;
        signing.update_body(&header[signing.body_offset()..]);
        // Keep the message only when it cannot be read a second time.
        let mut kept = Vec::new();
        let from_stdin = self.message.as_os_str() == "-";
        stream(&mut input, |chunk| {
            signing.update_body(chunk);
            if from_stdin {
                kept.extend_from_slice(chunk);
            }
        })
        .with_context(|| format!("reading {}", self.message.display()))?;
        let mut headers = signing.finish()?;
        // Keep the message's line endings, so the output is consistent.
        if first_line_ending_is_bare_lf(&header) {
            headers = headers.replace("\r\n", "\n");
        }

        let mut out = ctx.stdout();
        out.write_all(headers.as_bytes())?;
        if from_stdin {
            out.write_all(&header)?;
            out.write_all(&kept)?;
        } else {
            let mut again = File::open(&self.message)
                .with_context(|| format!("reading {}", self.message.display()))?;
            io::copy(&mut again, &mut out)?;
        }
        Ok(())
    }
}

/// The domain of the single From address.
fn from_domain(header: &[u8]) -> anyhow::Result<dns::Domain> {
    let mailboxes = message::Header::parse(header)
        .from_mailboxes()
        .map_err(|e| anyhow::anyhow!("parsing From header: {e}"))?;
    match mailboxes.as_slice() {
        [one] => Ok(one.address.domain.clone()),
        _ => Err(usage_error(format!(
            "message has {} From addresses, give the signing domain with --domain",
            mailboxes.len()
        ))),
    }
}

fn first_line_ending_is_bare_lf(data: &[u8]) -> bool {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => i == 0 || data[i - 1] != b'\r',
        None => false,
    }
}

/// The message file, or stdin for "-".
fn open(ctx: &Context, path: &PathBuf) -> anyhow::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::Cursor::new(ctx.read_stdin()?)));
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
}

/// Header sections larger than this are refused rather than read into memory.
const MAX_HEADER: usize = 4 << 20;

/// Reads up to and including the blank line that ends the header section (or to the end).
/// What follows is left in `input`.
fn read_header_section(input: &mut dyn BufRead) -> io::Result<Vec<u8>> {
    let mut header = Vec::new();
    loop {
        let start = header.len();
        let n = (&mut *input).take((MAX_HEADER + 1 - start) as u64).read_until(b'\n', &mut header)?;
        if n == 0 {
            return Ok(header);
        }
        let line = &header[start..];
        if line == b"\r\n" || line == b"\n" {
            return Ok(header);
        }
        if header.len() > MAX_HEADER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("header section larger than {MAX_HEADER} bytes"),
            ));
        }
    }
}

/// Feeds the rest of `input` to `f` in chunks.
fn stream(input: &mut dyn BufRead, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        let n = chunk.len();
        f(chunk);
        input.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::context::GlobalOptions;

    fn testdata(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dkim").join(path)
    }

    fn record(key_file: &str) -> String {
        let pem = std::fs::read_to_string(testdata(key_file)).expect("key");
        Record::for_public_key(&PrivateKey::from_pem(&pem).expect("pem").public_key()).to_string()
    }

    fn zone() -> dns::MockResolver {
        let text = format!(
            "rsa._domainkey.example.org TXT \"{}\"\n\
             ed._domainkey.example.org TXT \"{}\"\n\
             ed._domainkey.example.org AUTHENTIC\n\
             down._domainkey.example.org TXT SERVFAIL\n\
             bad._domainkey.example.org TXT \"v=DKIM1; p=!\"\n",
            record("keys/rsa2048.pem"),
            record("keys/ed25519.pem"),
        );
        dns::MockResolver::from_zone(&text).expect("zone")
    }

    async fn run(command: Dkim, stdin: &[u8]) -> (anyhow::Result<()>, Vec<u8>) {
        let (ctx, printed) =
            Context::for_test(GlobalOptions::default(), Some(Arc::new(zone())), stdin);
        let result = command.run(&ctx).await;
        let printed = printed.lock().expect("not poisoned").clone();
        (result, printed)
    }

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).expect("utf-8")
    }

    const MESSAGE: &str = "From: Jane <jane@example.org>\r\nTo: bob@example.net\r\nSubject: Hi\r\n\r\nHello.\r\n";

    fn sign(message: &str, selectors: &[&str]) -> Dkim {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let path = dir.join("message.eml");
        std::fs::write(&path, message).expect("write");
        Dkim::Sign(Sign {
            domain: None,
            selector: selectors.iter().map(|s| s.to_string()).collect(),
            key: selectors
                .iter()
                .map(|s| testdata(if *s == "rsa" { "keys/rsa2048.pem" } else { "keys/ed25519.pem" }))
                .collect(),
            message: path,
        })
    }

    fn verify_stdin() -> Dkim {
        Dkim::Verify(Verify { message: "-".into() })
    }

    #[tokio::test]
    async fn gened25519_prints_a_usable_pem_key() {
        let (result, out) = run(Dkim::Gened25519(Gened25519 {}), b"").await;
        result.expect("gened25519");
        let pem = text(out);
        assert!(pem.starts_with("DKIM signing key (Ed25519), generated by mox."), "{pem}");
        let key = PrivateKey::from_pem(&pem).expect("parses");
        assert_eq!(key.algorithm(), dkim::Algorithm::Ed25519Sha256);
    }

    #[tokio::test]
    async fn txt_prints_the_record_in_255_byte_strings() {
        let pem = std::fs::read(testdata("keys/rsa2048.pem")).expect("key");
        let (result, out) = run(Dkim::Txt(Txt {}), &pem).await;
        result.expect("txt");
        let line = text(out);
        let strings = line
            .strip_prefix("<selector>._domainkey.<your.domain.> TXT \"")
            .and_then(|s| s.strip_suffix("\"\n"))
            .expect("zone line");
        let parts: Vec<&str> = strings.split("\" \"").collect();
        assert_eq!(parts.len(), 2, "a 2048-bit key needs two strings");
        assert_eq!(parts[0].len(), 255);
        assert_eq!(parts.concat(), record("keys/rsa2048.pem"));
        assert!(parts[0].starts_with("v=DKIM1; k=rsa; h=sha256; t=s; p=MIIBIjAN"));

        let (result, _) = run(Dkim::Txt(Txt {}), b"not a key").await;
        let err = result.expect_err("no key");
        assert_eq!(format!("{err:#}"), "reading dkim private key from stdin: not a PEM file: no -----BEGIN line");
    }

    #[tokio::test]
    async fn lookup_prints_the_record_and_its_fields() {
        let lookup = |s: &str| Dkim::Lookup(Lookup { selector: s.into(), domain: "example.org".into() });
        let (result, out) = run(lookup("ed"), b"").await;
        result.expect("lookup");
        let out = text(out);
        let want = format!(
            "{}\n(with dnssec)\nversion: DKIM1\nkey: ed25519 (256 bits)\nhashes: sha256\n\
             services: *\nflags: s (i= must equal d=)\n",
            record("keys/ed25519.pem")
        );
        assert_eq!(out, want);

        let (result, _) = run(lookup("missing"), b"").await;
        assert_eq!(
            result.expect_err("missing").to_string(),
            "dkim lookup for missing at example.org: no DKIM key record at missing._domainkey.example.org"
        );
        let (result, _) = run(lookup("down"), b"").await;
        assert!(result.expect_err("servfail").to_string().contains("SERVFAIL"));
        let (result, _) = run(lookup("bad"), b"").await;
        assert!(result.expect_err("bad").to_string().contains("tag p=: invalid base64"));
        let (result, _) = run(lookup("bad sel"), b"").await;
        assert!(result.expect_err("usage").downcast_ref::<crate::cmd::UsageError>().is_some());
    }

    #[tokio::test]
    async fn sign_then_verify() {
        let (result, signed) = run(sign(MESSAGE, &["rsa", "ed"]), b"").await;
        result.expect("sign");
        let signed_text = text(signed.clone());
        assert!(signed_text.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=rsa;"));
        assert_eq!(&signed_text[signed_text.len() - MESSAGE.len()..], MESSAGE);
        assert_eq!(signed_text.matches("Subject: Hi").count(), 1);
        assert_eq!(signed_text.matches("DKIM-Signature:").count(), 2);

        let (result, out) = run(verify_stdin(), &signed).await;
        result.expect("verify");
        let out = text(out);
        assert!(out.starts_with("signature 1 of 2: pass\n\tdomain: example.org\n\tselector: rsa\n\talgorithm: rsa-sha256\n"), "{out}");
        assert!(out.contains("\tkey: rsa 2048 bits (without dnssec)\n"), "{out}");
        assert!(out.contains("signature 2 of 2: pass\n"), "{out}");
        assert!(out.contains("\tkey: ed25519 256 bits (with dnssec)\n"), "{out}");
        assert!(out.contains("\tauthentication-results: dkim=pass header.d=example.org header.s=ed header.a=ed25519-sha256 header.b="), "{out}");

        let tampered = signed_text.replace("Hello.", "Hello!");
        let (result, out) = run(verify_stdin(), tampered.as_bytes()).await;
        result.expect("verify");
        let out = text(out);
        assert!(out.starts_with("signature 1 of 2: fail\n\treason: body hash did not verify\n"), "{out}");

        let (result, out) = run(verify_stdin(), MESSAGE.as_bytes()).await;
        result.expect("verify");
        assert_eq!(text(out), "no DKIM signatures\n");

        // From stdin, with the domain given.
        let mut command = sign(MESSAGE, &["ed"]);
        if let Dkim::Sign(s) = &mut command {
            s.message = "-".into();
            s.domain = Some("example.org".into());
        }
        let (result, signed) = run(command, MESSAGE.as_bytes()).await;
        result.expect("sign");
        assert!(text(signed.clone()).ends_with(MESSAGE));
        let (result, out) = run(verify_stdin(), &signed).await;
        result.expect("verify");
        assert!(text(out).starts_with("signature 1 of 1: pass\n"));
    }

    #[tokio::test]
    async fn sign_keeps_bare_lf_line_endings() {
        let lf = MESSAGE.replace("\r\n", "\n");
        let (result, signed) = run(sign(&lf, &["ed"]), b"").await;
        result.expect("sign");
        assert!(!signed.contains(&b'\r'), "{}", text(signed.clone()));
        let (result, out) = run(verify_stdin(), &signed).await;
        result.expect("verify");
        assert!(text(out).starts_with("signature 1 of 1: pass\n"));
    }

    #[tokio::test]
    async fn sign_mistakes() {
        let mut command = sign(MESSAGE, &["rsa"]);
        if let Dkim::Sign(s) = &mut command {
            s.key.push(testdata("keys/ed25519.pem"));
        }
        let (result, _) = run(command, b"").await;
        let err = result.expect_err("pairs");
        assert_eq!(err.to_string(), "1 --selector but 2 --key: give them in pairs");

        let (result, _) = run(sign(&MESSAGE.replace("From: Jane <jane@example.org>\r\n", ""), &["rsa"]), b"").await;
        assert!(result.expect_err("no from").to_string().contains("0 From addresses"));

        let mut command = sign(MESSAGE, &["rsa"]);
        if let Dkim::Sign(s) = &mut command {
            s.key = vec![testdata("keys/missing.pem")];
        }
        let (result, _) = run(command, b"").await;
        assert!(format!("{:#}", result.expect_err("no key file")).starts_with("reading key "));
    }

    #[test]
    fn header_section_reading_stops_at_the_blank_line() {
        let mut input = io::Cursor::new(b"A: 1\r\nB: 2\r\n\r\nbody\r\n".to_vec());
        assert_eq!(read_header_section(&mut input).expect("read"), b"A: 1\r\nB: 2\r\n\r\n");
        let mut rest = Vec::new();
        input.read_to_end(&mut rest).expect("rest");
        assert_eq!(rest, b"body\r\n");
        let mut input = io::Cursor::new(b"A: 1\nB: 2".to_vec());
        assert_eq!(read_header_section(&mut input).expect("read"), b"A: 1\nB: 2");
        let mut big = io::Cursor::new(vec![b'x'; MAX_HEADER + 10]);
        assert!(read_header_section(&mut big).is_err());
    }
}
