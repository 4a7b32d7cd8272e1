//! SORT and THREAD (RFC 5256), with ESORT results (RFC 5267 §3) and the DISPLAYFROM and
//! DISPLAYTO keys (RFC 5957).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::search::{Candidate, Hit, UpdateContext};
use super::{CmdResult, Failure, Session, ok};
use crate::command::{
    SearchCommand, SearchKey, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};
use crate::seqset::push_u32;

/// The values a message is sorted by.
#[derive(Debug, Clone, Default)]
struct SortValues {
    arrival: i64,
    sent: i64,
    size: u64,
    subject: String,
    from: String,
    to: String,
    cc: String,
    display_from: String,
    display_to: String,
}

fn sort_values(c: &Candidate<'_, '_>, criteria: &[SortCriterion]) -> SortValues {
    let mut v = SortValues::default();
    let rec = c.record();
    v.arrival = rec.map_or(0, |m| m.received.unix);
    v.size = rec.map_or(0, |m| m.size);
    let needs_header = criteria.iter().any(|k| !matches!(k.key, SortKey::Arrival | SortKey::Size));
    if !needs_header {
        return v;
    }
    let header = message::Header::parse(c.header());
    v.sent = header
        .get("Date")
        .and_then(|f| message::DateTime::parse(f.raw_value()).ok())
        .map_or(v.arrival, |d| d.timestamp);
    v.subject = header.get("Subject").map(|f| base_subject(&f.decoded_value())).unwrap_or_default();
    let first = |name: &str| {
        super::mime::parse_addresses(header.get(name).map_or(&b""[..], |f| f.raw_value()))
    };
    let mailbox_of = |name: &str| -> String {
        first(name)
            .into_iter()
            .find(|a| a.host.is_some())
            .and_then(|a| a.mailbox)
            .map(|m| String::from_utf8_lossy(&m).to_ascii_uppercase())
            .unwrap_or_default()
    };
    let display_of = |name: &str| -> String {
        let Some(a) = first(name).into_iter().find(|a| a.host.is_some()) else {
            return String::new();
        };
        match a.name {
            Some(n) if !n.is_empty() => {
                message::decode_encoded_words(&String::from_utf8_lossy(&n)).to_uppercase()
            }
            _ => format!(
                "{}@{}",
                String::from_utf8_lossy(a.mailbox.as_deref().unwrap_or(b"")),
                String::from_utf8_lossy(a.host.as_deref().unwrap_or(b""))
            )
            .to_uppercase(),
        }
    };
    v.from = mailbox_of("From");
    v.to = mailbox_of("To");
    v.cc = mailbox_of("Cc");
    v.display_from = display_of("From");
    v.display_to = display_of("To");
    v
}

fn compare(a: &SortValues, b: &SortValues, k: SortKey) -> Ordering {
    match k {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Date => a.sent.cmp(&b.sent),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => a.subject.cmp(&b.subject),
        SortKey::From => a.from.cmp(&b.from),
        SortKey::To => a.to.cmp(&b.to),
        SortKey::Cc => a.cc.cmp(&b.cc),
        SortKey::DisplayFrom => a.display_from.cmp(&b.display_from),
        SortKey::DisplayTo => a.display_to.cmp(&b.display_to),
    }
}

/// The base subject (RFC 5256 §2.1): without `Re:`, `Fwd:`, `[list]` prefixes, `(fwd)`
/// trailers and `[Fwd: ...]` wrapping, whitespace collapsed, uppercased for comparison.
pub(crate) fn base_subject(s: &str) -> String {
    let mut s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        let before = s.clone();
        // Trailers: "(fwd)".
        loop {
            let t = s.trim_end();
            if t.len() >= 5 && t[t.len() - 5..].eq_ignore_ascii_case("(fwd)") {
                s = t[..t.len() - 5].trim_end().to_string();
            } else {
                s = t.to_string();
                break;
            }
        }
        // Leaders: subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", and blobs.
        loop {
            let t = s.trim_start().to_string();
            let lower = t.to_ascii_lowercase();
            let mut rest: Option<String> = None;
            for p in ["re", "fwd", "fw"] {
                if lower.starts_with(p) {
                    let mut r = t[p.len()..].trim_start();
                    if r.starts_with('[')
                        && let Some(end) = r.find(']')
                    {
                        r = r[end + 1..].trim_start();
                    }
                    if let Some(x) = r.strip_prefix(':') {
                        rest = Some(x.to_string());
                        break;
                    }
                }
            }
            if rest.is_none()
                && t.starts_with('[')
                && let Some(end) = t.find(']')
            {
                let after = t[end + 1..].trim_start();
                // A blob is removed only if something remains.
                if !after.is_empty() {
                    rest = Some(after.to_string());
                }
            }
            match rest {
                Some(r) => s = r,
                None => {
                    s = t;
                    break;
                }
            }
        }
        // "[fwd: subject]"
        if s.len() > 6 && s[..5].eq_ignore_ascii_case("[fwd:") && s.ends_with(']') {
            s = s[5..s.len() - 1].trim().to_string();
        }
        if s == before {
            break;
        }
    }
    s.to_uppercase()
}

impl Session {
    /// The messages matching `key`, in the order of `criteria` (ties by sequence number).
    pub(crate) fn sorted_hits(
        &self,
        criteria: &[SortCriterion],
        key: &SearchKey,
    ) -> Result<Vec<Hit>, Failure> {
        let mut values: HashMap<u32, SortValues> = HashMap::new();
        let mut visit = |c: &Candidate<'_, '_>| {
            values.insert(c.state.uid, sort_values(c, criteria));
        };
        let mut hits = self.search_selected(key, Some(&mut visit))?;
        hits.sort_by(|a, b| {
            let (va, vb) = (&values[&a.uid], &values[&b.uid]);
            for k in criteria {
                let o = compare(va, vb, k.key);
                let o = if k.reverse { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.seq.cmp(&b.seq)
        });
        Ok(hits)
    }

    pub(super) fn cmd_sort(
        &mut self,
        tag: &str,
        criteria: &[SortCriterion],
        s: &SearchCommand,
    ) -> CmdResult {
        if self.enabled.uidonly && super::search::uses_seqs(&s.key) {
            return Err(Failure::bad_code("UIDREQUIRED", "UIDONLY enabled: no sequence numbers"));
        }
        let hits = self.sorted_hits(criteria, &s.key)?;
        self.search_results(tag, s.uid, &s.key, s.returns.as_deref(), &hits, None, Some("SORT"))?;
        if let Some(r) = &s.returns
            && r.contains(&SearchReturn::Update)
        {
            let result = hits.iter().map(|h| h.uid).collect();
            let ctx = UpdateContext {
                tag: tag.to_string(),
                uid: s.uid,
                key: s.key.clone(),
                sort: Some(criteria.to_vec()),
                result,
            };
            self.selected_mut()?.contexts.push(ctx);
        }
        ok(if s.uid { "UID SORT completed" } else { "SORT completed" })
    }

    pub(super) fn cmd_thread(
        &mut self,
        uid: bool,
        algorithm: ThreadAlgorithm,
        key: &SearchKey,
    ) -> CmdResult {
        if self.enabled.uidonly && super::search::uses_seqs(key) {
            return Err(Failure::bad_code("UIDREQUIRED", "UIDONLY enabled: no sequence numbers"));
        }
        let mut infos: Vec<ThreadInfo> = Vec::new();
        let mut visit = |c: &Candidate<'_, '_>| {
            let h = message::Header::parse(c.header());
            let arrival = c.record().map_or(0, |m| m.received.unix);
            let sent = h
                .get("Date")
                .and_then(|f| message::DateTime::parse(f.raw_value()).ok())
                .map_or(arrival, |d| d.timestamp);
            let msgid =
                h.get("Message-ID").and_then(|f| message::MessageId::parse(f.raw_value()).ok());
            let mut refs: Vec<String> = h
                .get("References")
                .map(|f| {
                    message::MessageId::parse_list(f.raw_value())
                        .iter()
                        .map(|m| m.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if refs.is_empty()
                && let Some(irt) = h.get("In-Reply-To")
            {
                refs.extend(
                    message::MessageId::parse_list(irt.raw_value())
                        .first()
                        .map(|m| m.as_str().to_string()),
                );
            }
            infos.push(ThreadInfo {
                num: if uid { c.state.uid } else { c.seq },
                seq: c.seq,
                sent,
                subject: h
                    .get("Subject")
                    .map(|f| base_subject(&f.decoded_value()))
                    .unwrap_or_default(),
                is_reply: h.get("Subject").is_some_and(|f| is_reply_subject(&f.decoded_value())),
                msgid: msgid.map(|m| m.as_str().to_string()),
                refs,
            });
        };
        self.search_selected(key, Some(&mut visit))?;
        let threads = match algorithm {
            ThreadAlgorithm::OrderedSubject => ordered_subject(&infos),
            ThreadAlgorithm::References => references(&infos),
        };
        // "THREAD" then the threads without separating spaces between them.
        let mut out = b"THREAD".to_vec();
        if !threads.is_empty() {
            out.push(b' ');
            for t in &threads {
                write_thread(&mut out, t, true);
            }
        }
        self.untagged(&out);
        ok(if uid { "UID THREAD completed" } else { "THREAD completed" })
    }
}

/// What threading needs of a message.
#[derive(Debug, Clone)]
pub(crate) struct ThreadInfo {
    /// The number shown (sequence number or UID).
    pub num: u32,
    pub seq: u32,
    pub sent: i64,
    pub subject: String,
    pub is_reply: bool,
    pub msgid: Option<String>,
    pub refs: Vec<String>,
}

/// A thread: a message (or a dummy for a missing parent) and its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thread {
    pub num: Option<u32>,
    pub children: Vec<Thread>,
}

fn is_reply_subject(s: &str) -> bool {
    let t = s.trim_start().to_ascii_lowercase();
    t.starts_with("re:") || t.starts_with("re[") || t.starts_with("fw") || t.starts_with("[fwd:")
}

/// ORDEREDSUBJECT (RFC 5256 §3): by base subject; within a thread by sent date; threads by
/// the sent date of their first message. The first message is the parent of all others.
pub(crate) fn ordered_subject(infos: &[ThreadInfo]) -> Vec<Thread> {
    let mut sorted: Vec<&ThreadInfo> = infos.iter().collect();
    sorted.sort_by(|a, b| {
        a.subject.cmp(&b.subject).then(a.sent.cmp(&b.sent)).then(a.seq.cmp(&b.seq))
    });
    let mut threads: Vec<(i64, u32, Thread)> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].subject == sorted[i].subject {
            j += 1;
        }
        let first = sorted[i];
        let children = sorted[i + 1..j]
            .iter()
            .map(|m| Thread { num: Some(m.num), children: vec![] })
            .collect();
        threads.push((first.sent, first.seq, Thread { num: Some(first.num), children }));
        i = j;
    }
    threads.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    threads.into_iter().map(|t| t.2).collect()
}

/// REFERENCES (RFC 5256 §3): parent/child links from Message-ID, References and In-Reply-To;
/// missing parents kept as dummies where they join messages; root threads with the same base
/// subject merged; siblings and threads by sent date.
pub(crate) fn references(infos: &[ThreadInfo]) -> Vec<Thread> {
    // Containers: index by id; messages map to containers.
    #[derive(Default, Clone)]
    struct C {
        msg: Option<usize>,
        parent: Option<usize>,
        children: Vec<usize>,
    }
    let mut cs: Vec<C> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut container = |id: &str, cs: &mut Vec<C>| -> usize {
        if let Some(&i) = by_id.get(id) {
            return i;
        }
        cs.push(C::default());
        by_id.insert(id.to_string(), cs.len() - 1);
        cs.len() - 1
    };
    fn is_ancestor(cs: &[C], anc: usize, mut node: usize) -> bool {
        let mut steps = 0;
        loop {
            if node == anc {
                return true;
            }
            match cs[node].parent {
                Some(p) if steps < 10_000 => {
                    node = p;
                    steps += 1;
                }
                _ => return false,
            }
        }
    }
    for (mi, m) in infos.iter().enumerate() {
        // Step 1A: the message's container (a duplicate Message-ID gets its own).
        let ci = match &m.msgid {
            Some(id) => {
                let c = container(id, &mut cs);
                if cs[c].msg.is_some() {
                    cs.push(C::default());
                    cs.len() - 1
                } else {
                    c
                }
            }
            None => {
                cs.push(C::default());
                cs.len() - 1
            }
        };
        cs[ci].msg = Some(mi);
        // Step 1B: link the references as a chain, without creating loops.
        let mut prev: Option<usize> = None;
        for r in &m.refs {
            let rc = container(r, &mut cs);
            if let Some(p) = prev
                && cs[rc].parent.is_none()
                && !is_ancestor(&cs, rc, p)
                && rc != p
            {
                cs[rc].parent = Some(p);
                cs[p].children.push(rc);
            }
            prev = Some(rc);
        }
        // Step 1C: the last reference is the message's parent.
        if let Some(p) = prev
            && p != ci
            && !is_ancestor(&cs, ci, p)
        {
            if let Some(old) = cs[ci].parent {
                cs[old].children.retain(|&x| x != ci);
            }
            cs[ci].parent = Some(p);
            cs[p].children.push(ci);
        }
    }
    // Step 2: the root set.
    let roots: Vec<usize> = (0..cs.len()).filter(|&i| cs[i].parent.is_none()).collect();
    let sent_of = |cs: &[C], i: usize| -> (i64, u32) {
        // A dummy sorts by its first child (RFC 5256: its earliest descendant).
        let mut i = i;
        loop {
            if let Some(m) = cs[i].msg {
                return (infos[m].sent, infos[m].seq);
            }
            match cs[i].children.first() {
                Some(&c) => i = c,
                None => return (i64::MAX, u32::MAX),
            }
        }
    };
    // Step 3 and 4: prune empty dummies, promote children of dummies where sensible.
    fn build(cs: &[C], i: usize, infos: &[ThreadInfo]) -> Vec<Thread> {
        let mut kids: Vec<Thread> = Vec::new();
        for &c in &cs[i].children {
            kids.extend(build(cs, c, infos));
        }
        match cs[i].msg {
            Some(m) => vec![Thread { num: Some(infos[m].num), children: kids }],
            // A dummy without children disappears; with one child it is replaced by it.
            None if kids.len() <= 1 => kids,
            None => vec![Thread { num: None, children: kids }],
        }
    }
    let mut root_threads: Vec<(i64, u32, String, Thread, bool)> = Vec::new();
    for r in roots {
        let key = sent_of(&cs, r);
        for t in build(&cs, r, infos) {
            let first = first_num(&t).and_then(|n| infos.iter().find(|m| m.num == n));
            let subject = first.map(|m| m.subject.clone()).unwrap_or_default();
            let reply = t.num.is_some() && first.is_some_and(|m| m.is_reply);
            root_threads.push((key.0, key.1, subject, t, reply));
        }
    }
    // Step 5: merge root threads with the same base subject: a reply becomes a child of the
    // original; otherwise both go under a dummy.
    let mut merged: Vec<(i64, u32, String, Thread, bool)> = Vec::new();
    let mut by_subject: HashMap<String, usize> = HashMap::new();
    root_threads.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    for (sent, seq, subject, mut t, reply) in root_threads {
        if subject.is_empty() {
            merged.push((sent, seq, subject, t, reply));
            continue;
        }
        match by_subject.get(&subject) {
            Some(&i) => {
                let existing_reply = merged[i].4;
                let existing = &mut merged[i].3;
                if existing.num.is_none() || (reply && !existing_reply) {
                    existing.children.push(t);
                } else if !reply && existing_reply && t.num.is_some() {
                    let old = std::mem::replace(existing, Thread { num: None, children: vec![] });
                    t.children.push(old);
                    *existing = t;
                    merged[i].4 = false;
                } else {
                    let old = std::mem::replace(existing, Thread { num: None, children: vec![] });
                    existing.children = vec![old, t];
                }
            }
            None => {
                by_subject.insert(subject.clone(), merged.len());
                merged.push((sent, seq, subject, t, reply));
            }
        }
    }
    // Step 6: siblings sorted by sent date.
    fn sort_children(t: &mut Thread, order: &HashMap<u32, (i64, u32)>) {
        for c in &mut t.children {
            sort_children(c, order);
        }
        t.children.sort_by_key(|c| {
            first_num(c).and_then(|n| order.get(&n).copied()).unwrap_or((i64::MAX, u32::MAX))
        });
    }
    let order: HashMap<u32, (i64, u32)> = infos.iter().map(|m| (m.num, (m.sent, m.seq))).collect();
    merged.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    merged
        .into_iter()
        .map(|mut m| {
            sort_children(&mut m.3, &order);
            m.3
        })
        .collect()
}

fn first_num(t: &Thread) -> Option<u32> {
    t.num.or_else(|| t.children.iter().find_map(first_num))
}

/// Writes a thread (RFC 5256 §4): `(1 2 (3)(4 5))`: a single child continues the chain, several
/// are each parenthesized.
pub(crate) fn write_thread(out: &mut Vec<u8>, t: &Thread, top: bool) {
    if top {
        out.push(b'(');
    }
    let mut node = t;
    let mut first = true;
    loop {
        if let Some(n) = node.num {
            if !first {
                out.push(b' ');
            }
            push_u32(out, n);
            first = false;
        }
        match node.children.len() {
            0 => break,
            1 => node = &node.children[0],
            _ => {
                if !first {
                    out.push(b' ');
                }
                for c in &node.children {
                    out.push(b'(');
                    write_thread(out, c, false);
                    out.push(b')');
                }
                break;
            }
        }
    }
    if top {
        out.push(b')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects() {
        assert_eq!(base_subject("Re: [list] Fwd: hello (fwd)"), "HELLO");
        assert_eq!(base_subject("[Fwd: Re: lunch]"), "LUNCH");
        assert_eq!(base_subject("RE[2]: test   this"), "TEST THIS");
        assert_eq!(base_subject("[list]"), "[LIST]", "a blob alone stays");
        assert_eq!(base_subject("Reading"), "READING");
    }

    fn info(num: u32, sent: i64, subject: &str, id: &str, refs: &[&str]) -> ThreadInfo {
        ThreadInfo {
            num,
            seq: num,
            sent,
            subject: base_subject(subject),
            is_reply: is_reply_subject(subject),
            msgid: Some(id.to_string()),
            refs: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn show(ts: &[Thread]) -> String {
        let mut out = Vec::new();
        for t in ts {
            write_thread(&mut out, t, true);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn threading() {
        let infos = vec![
            info(1, 100, "hello", "a@x", &[]),
            info(2, 200, "Re: hello", "b@x", &["a@x"]),
            info(3, 150, "other", "c@x", &[]),
            info(4, 300, "Re: hello", "d@x", &["a@x"]),
            info(5, 400, "Re: hello", "e@x", &["a@x", "b@x"]),
            // Parent unknown: joins by subject.
            info(6, 500, "Re: other", "f@x", &["missing@x"]),
        ];
        assert_eq!(show(&references(&infos)), "(1 (2 5)(4))(3 6)");
        assert_eq!(show(&ordered_subject(&infos)), "(1 (2)(4)(5))(3 6)");
    }
}
