//! Accuracy on the generated corpus (testdata/junk/README.md): train on one half, classify
//! the other, and do the same with Debian's bogofilter as a peer. Reports false positives
//! (ham called spam) and false negatives; requires no more false positives than bogofilter
//! and at most 1 in 500 ham.

#![allow(clippy::unwrap_used)]

mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;

use junk::{Class, Combining, Filter, Params};

const SEED: u64 = 0x6d6f_782d_6a75_6e6b; // "mox-junk"
const PER_CLASS: usize = 3000; // half trained, half tested, per class

/// mox's quickstart threshold.
const QUICKSTART_THRESHOLD: f64 = 0.95;
/// The threshold recommended with [`Params::recommended`].
const RECOMMENDED_THRESHOLD: f64 = junk::JunkFilter::RECOMMENDED_THRESHOLD;

#[test]
fn accuracy_against_bogofilter() {
    let (ham, spam) = corpus::corpus(SEED, PER_CLASS);
    let half = PER_CLASS / 2;
    let dir = tempfile::tempdir().unwrap();

    // Ours, with mox's quickstart settings and with the settings we recommend.
    let ours = |params: Params, threshold: f64| -> (usize, usize) {
        let d = tempfile::tempdir().unwrap();
        let filter = Filter::open(&d.path().join("jf"), &params).unwrap();
        let mut t = filter.training().unwrap();
        for m in &ham[..half] {
            t.train(Class::Ham, &filter.words(m));
        }
        for m in &spam[..half] {
            t.train(Class::Spam, &filter.words(m));
        }
        t.commit().unwrap();
        let fp =
            ham[half..].iter().filter(|m| filter.classify_message(m).is_spam(threshold)).count();
        let fneg =
            spam[half..].iter().filter(|m| !filter.classify_message(m).is_spam(threshold)).count();
        (fp, fneg)
    };
    let (quick_fp, quick_fn) = ours(Params::default(), QUICKSTART_THRESHOLD);
    let (ours_fp, ours_fn) = ours(Params::recommended(), RECOMMENDED_THRESHOLD);
    let (nb_fp, nb_fn) = ours(
        Params { combining: Combining::NaiveBayes, ..Params::default() },
        QUICKSTART_THRESHOLD,
    );

    // bogofilter, on the same files.
    let write = |name: &str, l: &[Vec<u8>]| -> Vec<PathBuf> {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        l.iter()
            .enumerate()
            .map(|(i, m)| {
                let p = d.join(format!("{i}.eml"));
                std::fs::write(&p, m).unwrap();
                p
            })
            .collect()
    };
    let db = dir.path().join("bogo");
    std::fs::create_dir_all(&db).unwrap();
    bogofilter(&db, &["-n", "-B"], &write("train-ham", &ham[..half]));
    bogofilter(&db, &["-s", "-B"], &write("train-spam", &spam[..half]));
    let spams = |files: &[PathBuf]| -> usize {
        let out = bogofilter(&db, &["-T", "-B"], files);
        let verdicts: Vec<&str> = out.lines().filter_map(|l| l.split_whitespace().nth(1)).collect();
        assert_eq!(verdicts.len(), files.len(), "bogofilter output: {out}");
        verdicts.iter().filter(|v| **v == "S").count()
    };
    let bogo_fp = spams(&write("test-ham", &ham[half..]));
    let bogo_fn = half - spams(&write("test-spam", &spam[half..]));

    let pct = |n: usize| 100.0 * n as f64 / half as f64;
    println!(
        "junk accuracy on {half} ham + {half} spam, trained on as many (false positives, false negatives):"
    );
    println!(
        "  junk, recommended settings (30 words, ignore 0.3, threshold 0.9): {ours_fp} FP, {ours_fn} FN ({:.1}%)",
        pct(ours_fn)
    );
    println!(
        "  junk, mox quickstart settings (10 words, ignore 0.1, threshold 0.95): {quick_fp} FP, {quick_fn} FN ({:.1}%)",
        pct(quick_fn)
    );
    println!(
        "  junk, quickstart settings with mox's naive Bayes combining: {nb_fp} FP, {nb_fn} FN ({:.1}%)",
        pct(nb_fn)
    );
    println!("  bogofilter defaults: {bogo_fp} FP, {bogo_fn} FN ({:.1}%)", pct(bogo_fn));
    assert!(ours_fp <= bogo_fp, "more false positives than bogofilter: {ours_fp} > {bogo_fp}");
    assert!(
        quick_fp <= bogo_fp,
        "quickstart: more false positives than bogofilter: {quick_fp} > {bogo_fp}"
    );
    assert!(quick_fp * 500 <= half, "quickstart: false positive rate above 1 in 500");
    assert!(ours_fp * 500 <= half, "false positive rate above 1 in 500: {ours_fp} of {half}");
    // Not passing by calling nothing spam: most spam must be caught.
    assert!(ours_fn * 10 <= half, "more than 10% of spam missed: {ours_fn} of {half}");
}

/// Runs bogofilter with its database in `db`; a missing bogofilter fails loudly.
fn bogofilter(db: &Path, args: &[&str], files: &[PathBuf]) -> String {
    let out = Command::new("bogofilter")
        .arg("-d")
        .arg(db)
        .args(args)
        .args(files)
        .output()
        .expect("bogofilter must be installed (apt-get install bogofilter, see .ci/deps)");
    // Exit codes: 0 spam, 1 ham, 2 unsure (for the last message), 3 error.
    assert!(out.status.code().is_some_and(|c| c < 3), "bogofilter failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
