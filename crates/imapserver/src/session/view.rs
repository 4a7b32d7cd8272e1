//! The client's view of the selected mailbox: which UIDs it knows, in order, so message
//! sequence numbers map to UIDs (RFC 9051 §2.3.1.2). Kept as runs of consecutive UIDs: a
//! mailbox without gaps is one run, so a session with a million-message mailbox selected
//! holds a few bytes, not four megabytes.

use std::ops::RangeInclusive;

/// A run of consecutive UIDs at consecutive sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Sequence number of the first UID of the run.
    seq: u32,
    /// First UID.
    uid: u32,
    /// Number of UIDs.
    len: u32,
}

/// UIDs in ascending order, numbered 1.. (sequence numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SeqMap {
    runs: Vec<Run>,
    count: u32,
}

impl SeqMap {
    #[cfg(test)]
    pub(crate) fn from_sorted(uids: impl IntoIterator<Item = u32>) -> SeqMap {
        let mut m = SeqMap::default();
        for u in uids {
            m.push(u);
        }
        m
    }

    /// Number of messages.
    pub(crate) fn len(&self) -> u32 {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The highest UID, 0 when empty.
    pub(crate) fn max_uid(&self) -> u32 {
        self.runs.last().map_or(0, |r| r.uid + r.len - 1)
    }

    /// Appends a UID higher than all others.
    pub(crate) fn push(&mut self, uid: u32) {
        debug_assert!(uid > self.max_uid());
        self.count += 1;
        if let Some(r) = self.runs.last_mut()
            && r.uid + r.len == uid
        {
            r.len += 1;
            return;
        }
        self.runs.push(Run { seq: self.count, uid, len: 1 });
    }

    /// The UID at sequence number `seq`.
    pub(crate) fn uid(&self, seq: u32) -> Option<u32> {
        if seq == 0 || seq > self.count {
            return None;
        }
        let i = self.runs.partition_point(|r| r.seq + r.len <= seq);
        let r = self.runs.get(i)?;
        Some(r.uid + (seq - r.seq))
    }

    /// The sequence number of `uid`, if the client knows it.
    pub(crate) fn seq(&self, uid: u32) -> Option<u32> {
        let i = self.runs.partition_point(|r| r.uid + r.len <= uid);
        let r = self.runs.get(i)?;
        (uid >= r.uid).then(|| r.seq + (uid - r.uid))
    }

    /// Calls `f(seq, uid)` for the messages whose sequence numbers are in `range`.
    #[cfg(test)]
    pub(crate) fn for_seq_range(&self, range: RangeInclusive<u32>, mut f: impl FnMut(u32, u32)) {
        let (lo, hi) = (*range.start(), (*range.end()).min(self.count));
        if lo == 0 || lo > hi {
            return;
        }
        let mut i = self.runs.partition_point(|r| r.seq + r.len <= lo);
        while let Some(r) = self.runs.get(i) {
            if r.seq > hi {
                break;
            }
            let from = lo.max(r.seq);
            let to = hi.min(r.seq + r.len - 1);
            for s in from..=to {
                f(s, r.uid + (s - r.seq));
            }
            i += 1;
        }
    }

    /// Calls `f(seq, uid)` for the known UIDs in `range`.
    pub(crate) fn for_uid_range(&self, range: RangeInclusive<u32>, mut f: impl FnMut(u32, u32)) {
        let (lo, hi) = (*range.start(), *range.end());
        if lo > hi {
            return;
        }
        let mut i = self.runs.partition_point(|r| r.uid + r.len <= lo);
        while let Some(r) = self.runs.get(i) {
            if r.uid > hi {
                break;
            }
            let from = lo.max(r.uid);
            let to = hi.min(r.uid + r.len - 1);
            for u in from..=to {
                f(r.seq + (u - r.uid), u);
            }
            i += 1;
        }
    }

    /// The known UIDs in `range` as ranges (without visiting each UID).
    pub(crate) fn uid_ranges_in(
        &self,
        range: RangeInclusive<u32>,
        out: &mut Vec<RangeInclusive<u32>>,
    ) {
        let (lo, hi) = (*range.start(), *range.end());
        if lo > hi {
            return;
        }
        let mut i = self.runs.partition_point(|r| r.uid + r.len <= lo);
        while let Some(r) = self.runs.get(i) {
            if r.uid > hi {
                break;
            }
            out.push(lo.max(r.uid)..=hi.min(r.uid + r.len - 1));
            i += 1;
        }
    }

    /// The UIDs at the sequence numbers in `range`, as UID ranges.
    pub(crate) fn seq_range_to_uid_ranges(
        &self,
        range: RangeInclusive<u32>,
        out: &mut Vec<RangeInclusive<u32>>,
    ) {
        let (lo, hi) = (*range.start(), (*range.end()).min(self.count));
        if lo == 0 || lo > hi {
            return;
        }
        let mut i = self.runs.partition_point(|r| r.seq + r.len <= lo);
        while let Some(r) = self.runs.get(i) {
            if r.seq > hi {
                break;
            }
            let from = lo.max(r.seq);
            let to = hi.min(r.seq + r.len - 1);
            out.push(r.uid + (from - r.seq)..=r.uid + (to - r.seq));
            i += 1;
        }
    }

    /// Every UID, ascending.
    pub(crate) fn uids(&self) -> impl Iterator<Item = u32> + '_ {
        self.runs.iter().flat_map(|r| r.uid..r.uid + r.len)
    }

    /// Removes the given UIDs (ascending; unknown ones are ignored). Returns the sequence
    /// numbers they had, each as it is at the moment of its EXPUNGE response when the
    /// responses are sent in the order returned (RFC 9051 §7.5.1: each EXPUNGE renumbers the
    /// messages after it, so numbers are given from the highest down).
    pub(crate) fn remove(&mut self, uids: &[u32]) -> Vec<(u32, u32)> {
        let mut removed: Vec<(u32, u32)> =
            uids.iter().filter_map(|&u| self.seq(u).map(|s| (s, u))).collect();
        if removed.is_empty() {
            return removed;
        }
        let mut keep = Vec::with_capacity(self.runs.len() + removed.len());
        let mut ri = 0;
        for r in &self.runs {
            let mut start = r.uid;
            let end = r.uid + r.len; // exclusive
            while ri < removed.len() && removed[ri].1 < end {
                let u = removed[ri].1;
                if u > start {
                    keep.push((start, u - start));
                }
                start = u + 1;
                ri += 1;
            }
            if start < end {
                keep.push((start, end - start));
            }
        }
        self.runs.clear();
        self.count = 0;
        for (uid, len) in keep {
            self.count += len;
            if let Some(last) = self.runs.last_mut()
                && last.uid + last.len == uid
            {
                last.len += len;
                continue;
            }
            self.runs.push(Run { seq: self.count - len + 1, uid, len });
        }
        removed.reverse();
        removed
    }

    /// Bytes of heap memory used (for the per-connection memory figures).
    #[allow(dead_code)]
    pub(crate) fn heap_size(&self) -> usize {
        self.runs.capacity() * std::mem::size_of::<Run>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_map_both_ways() {
        let m = SeqMap::from_sorted([1, 2, 3, 7, 8, 20]);
        assert_eq!(m.len(), 6);
        assert_eq!(m.runs.len(), 3);
        assert_eq!(
            (1..=7).map(|s| m.uid(s)).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3), Some(7), Some(8), Some(20), None]
        );
        assert_eq!(m.seq(7), Some(4));
        assert_eq!(m.seq(5), None);
        assert_eq!(m.seq(21), None);
        assert_eq!(m.max_uid(), 20);
        let mut v = Vec::new();
        m.for_seq_range(2..=5, |s, u| v.push((s, u)));
        assert_eq!(v, [(2, 2), (3, 3), (4, 7), (5, 8)]);
        let mut v = Vec::new();
        m.for_uid_range(3..=10, |s, u| v.push((s, u)));
        assert_eq!(v, [(3, 3), (4, 7), (5, 8)]);
        let mut r = Vec::new();
        m.seq_range_to_uid_ranges(3..=6, &mut r);
        assert_eq!(r, [3..=3, 7..=8, 20..=20]);
        let mut r = Vec::new();
        m.uid_ranges_in(2..=7, &mut r);
        assert_eq!(r, [2..=3, 7..=7]);
    }

    #[test]
    fn removal_renumbers() {
        let mut m = SeqMap::from_sorted(1..=10);
        // RFC 9051 §7.5.1 example: expunging 3, 4, 7 and 11 of 11 gives "3 EXPUNGE" three
        // times... here as descending numbers, each valid when sent.
        let r = m.remove(&[3, 4, 7, 99]);
        assert_eq!(r, [(7, 7), (4, 4), (3, 3)]);
        assert_eq!(m.uids().collect::<Vec<_>>(), [1, 2, 5, 6, 8, 9, 10]);
        assert_eq!(m.uid(3), Some(5));
        assert_eq!(m.seq(8), Some(5));
        m.push(11);
        assert_eq!(m.uid(8), Some(11));
        assert_eq!(m.remove(&[1, 2, 5, 6, 8, 9, 10, 11]).len(), 8);
        assert!(m.is_empty() && m.max_uid() == 0);
    }
}
