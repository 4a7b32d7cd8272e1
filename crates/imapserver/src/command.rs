//! Commands as the parser returns them: every command of IMAP4rev2 (RFC 9051) and IMAP4rev1
//! (RFC 3501) and of the extensions this server implements, with their arguments typed.
//!
//! The same types are encoded by [`crate::encode`] (as a client would send them), so every
//! value the parser produces survives an encode → parse round trip (the `imap_roundtrip` fuzz
//! target checks this).

use std::fmt;

use crate::seqset::SequenceSet;

/// A password or SASL response from a command: `Debug` prints `Secret(***)`. Equality exists
/// for round-trip tests; credentials are checked by the `sasl` crate, in constant time.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The secret itself; never log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A command: its tag and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The tag (`tag = 1*<any ASTRING-CHAR except "+">`).
    pub tag: String,
    /// The command with its arguments.
    pub body: CommandBody,
}

/// Every command, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `CAPABILITY`
    Capability,
    /// `NOOP`
    Noop,
    /// `LOGOUT`
    Logout,
    /// `ID` (RFC 2971): the client's identification, `None` for `ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),
    /// `STARTTLS`
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (RFC 9051 §6.2.2, SASL-IR RFC 4959). The
    /// initial response is decoded from base64; `Some(empty)` for `=`.
    Authenticate {
        /// Mechanism name, uppercased.
        mechanism: String,
        /// Decoded initial response.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// `LOGIN user password`
    Login {
        /// User name.
        username: String,
        /// Password.
        password: Secret<String>,
    },
    /// `ENABLE capability...` (RFC 5161).
    Enable(Vec<String>),
    /// `SELECT` or `EXAMINE` (`read_only`), with CONDSTORE/QRESYNC parameters (RFC 7162).
    Select {
        /// The mailbox.
        mailbox: MailboxName,
        /// EXAMINE rather than SELECT.
        read_only: bool,
        /// `(CONDSTORE)` was given.
        condstore: bool,
        /// `(QRESYNC (...))` was given.
        qresync: Option<QresyncParams>,
    },
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `CREATE mailbox [(USE (attrs))]` (RFC 6154 CREATE-SPECIAL-USE).
    Create {
        /// The mailbox.
        mailbox: MailboxName,
        /// Special-use attributes asked for (`\Sent`, ...).
        special_use: Vec<String>,
    },
    /// `DELETE mailbox`
    Delete(MailboxName),
    /// `RENAME from to`
    Rename {
        /// Old name.
        from: MailboxName,
        /// New name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox`
    Subscribe(MailboxName),
    /// `UNSUBSCRIBE mailbox`
    Unsubscribe(MailboxName),
    /// `LIST` (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE
    /// RFC 6154, LIST-METADATA RFC 9590).
    List(ListCommand),
    /// `LSUB reference pattern` (RFC 3501 only).
    Lsub {
        /// Reference name.
        reference: MailboxName,
        /// Pattern.
        pattern: MailboxName,
    },
    /// `STATUS mailbox (items)`
    Status {
        /// The mailbox.
        mailbox: MailboxName,
        /// What to return.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [flags] [date] literal ...` (MULTIAPPEND RFC 3502 gives several).
    Append {
        /// The mailbox.
        mailbox: MailboxName,
        /// The messages, at least one.
        messages: Vec<AppendMessage>,
    },
    /// `IDLE` (RFC 2177).
    Idle,
    /// `CHECK` (RFC 3501 only).
    Check,
    /// `CLOSE`
    Close,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `EXPUNGE`, or `UID EXPUNGE set` (RFC 4315).
    Expunge {
        /// For UID EXPUNGE: the UIDs.
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH [RETURN (...)] [CHARSET c] keys`
    Search(SearchCommand),
    /// `ESEARCH [IN (sources)] [RETURN (...)] [CHARSET c] keys` (MULTISEARCH, RFC 7377).
    Esearch {
        /// Which mailboxes (`None`: the selected one).
        source: Option<Vec<MailboxFilter>>,
        /// The search.
        search: SearchCommand,
    },
    /// `[UID] FETCH set items [(modifiers)]`
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// What to return.
        items: Vec<FetchAttr>,
        /// `CHANGEDSINCE modseq` (RFC 7162 §3.1.4).
        changed_since: Option<u64>,
        /// `VANISHED` (RFC 7162 §3.2.6, UID FETCH only).
        vanished: bool,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE m)] [+-]FLAGS[.SILENT] flags`
    Store {
        /// UID STORE.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// `UNCHANGEDSINCE` (RFC 7162 §3.1.3).
        unchanged_since: Option<u64>,
        /// Add, remove or replace.
        op: StoreOp,
        /// `.SILENT`
        silent: bool,
        /// The flags.
        flags: Vec<String>,
    },
    /// `[UID] COPY set mailbox`
    Copy {
        /// UID COPY.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Where to.
        mailbox: MailboxName,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// UID MOVE.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Where to.
        mailbox: MailboxName,
    },
    /// `[UID] REPLACE n mailbox [flags] [date] literal` (RFC 8508).
    Replace {
        /// UID REPLACE.
        uid: bool,
        /// The message (sequence number or UID) to replace.
        number: u32,
        /// Where the new message goes.
        mailbox: MailboxName,
        /// The new message.
        message: AppendMessage,
    },
    /// `[UID] SORT [RETURN (...)] (criteria) charset keys` (RFC 5256, ESORT RFC 5267).
    Sort {
        /// The sort order.
        criteria: Vec<SortCriterion>,
        /// The search.
        search: SearchCommand,
    },
    /// `[UID] THREAD algorithm charset keys` (RFC 5256).
    Thread {
        /// UID THREAD.
        uid: bool,
        /// `ORDEREDSUBJECT` or `REFERENCES`.
        algorithm: ThreadAlgorithm,
        /// Charset of the search strings.
        charset: String,
        /// The search.
        key: SearchKey,
    },
    /// `CANCELUPDATE tag...` (RFC 5267 §4.3.5).
    CancelUpdate(Vec<String>),
    /// `GETMETADATA [(options)] mailbox entries` (RFC 5464 §4.2).
    GetMetadata {
        /// `MAXSIZE`
        max_size: Option<u32>,
        /// `DEPTH`: 0, 1 or infinity (`None` stands for 0, the default).
        depth: MetadataDepth,
        /// The mailbox; empty for server annotations.
        mailbox: MailboxName,
        /// Entry names.
        entries: Vec<String>,
    },
    /// `SETMETADATA mailbox (entry value ...)` (RFC 5464 §4.3); `None` removes.
    SetMetadata {
        /// The mailbox; empty for server annotations.
        mailbox: MailboxName,
        /// Entries and values.
        entries: Vec<(String, Option<Vec<u8>>)>,
    },
    /// `GETQUOTA root` (RFC 9208).
    GetQuota(String),
    /// `GETQUOTAROOT mailbox` (RFC 9208).
    GetQuotaRoot(MailboxName),
    /// `SETQUOTA root (resource limit ...)` (RFC 9208).
    SetQuota {
        /// Quota root.
        root: String,
        /// Resource names and limits.
        limits: Vec<(String, u64)>,
    },
    /// `NOTIFY NONE` or `NOTIFY SET ...` (RFC 5465).
    Notify(Option<NotifySet>),
    /// `COMPRESS mechanism` (RFC 4978).
    Compress(String),
}

/// A mailbox name as the client sent it (UTF-8, or modified UTF-7 for IMAP4rev1 clients that
/// did not enable UTF8=ACCEPT: the session decides).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MailboxName(pub String);

impl MailboxName {
    /// The name as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// QRESYNC parameters of SELECT (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QresyncParams {
    /// UIDVALIDITY the client knows.
    pub uid_validity: u32,
    /// MODSEQ the client knows.
    pub modseq: u64,
    /// UIDs the client knows.
    pub known_uids: Option<SequenceSet>,
    /// Sequence numbers and their UIDs, to find where the client's view diverged.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// An extended LIST command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListCommand {
    /// Selection options given (LIST-EXTENDED syntax was used).
    pub extended: bool,
    /// `SUBSCRIBED` selection option.
    pub select_subscribed: bool,
    /// `RECURSIVEMATCH` selection option.
    pub recursive_match: bool,
    /// `SPECIAL-USE` selection option (RFC 6154 §3).
    pub select_special_use: bool,
    /// `REMOTE` selection option (accepted, no effect).
    pub remote: bool,
    /// Reference name.
    pub reference: MailboxName,
    /// Patterns (one for the basic syntax).
    pub patterns: Vec<MailboxName>,
    /// Patterns were given in parentheses.
    pub pattern_list: bool,
    /// `RETURN (SUBSCRIBED)`
    pub return_subscribed: bool,
    /// `RETURN (CHILDREN)`
    pub return_children: bool,
    /// `RETURN (SPECIAL-USE)`
    pub return_special_use: bool,
    /// `RETURN (STATUS (...))`
    pub return_status: Option<Vec<StatusItem>>,
    /// `RETURN (METADATA (...))` (RFC 9590).
    pub return_metadata: Option<Vec<String>>,
    /// A `RETURN (...)` clause was given (even if empty).
    pub has_return: bool,
}

/// A STATUS data item (RFC 9051 §6.3.11, CONDSTORE, STATUS=SIZE, QUOTA, APPENDLIMIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED`
    Deleted,
    /// `SIZE`
    Size,
    /// `RECENT` (RFC 3501)
    Recent,
    /// `HIGHESTMODSEQ` (RFC 7162)
    HighestModseq,
    /// `APPENDLIMIT` (RFC 7889)
    AppendLimit,
    /// `DELETED-STORAGE` (RFC 9208)
    DeletedStorage,
}

impl StatusItem {
    /// Every item, with its name.
    pub const ALL: [(StatusItem, &'static str); 10] = [
        (StatusItem::Messages, "MESSAGES"),
        (StatusItem::UidNext, "UIDNEXT"),
        (StatusItem::UidValidity, "UIDVALIDITY"),
        (StatusItem::Unseen, "UNSEEN"),
        (StatusItem::Deleted, "DELETED"),
        (StatusItem::Size, "SIZE"),
        (StatusItem::Recent, "RECENT"),
        (StatusItem::HighestModseq, "HIGHESTMODSEQ"),
        (StatusItem::AppendLimit, "APPENDLIMIT"),
        (StatusItem::DeletedStorage, "DELETED-STORAGE"),
    ];

    /// The protocol name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(i, _)| *i == self).map(|(_, n)| *n).unwrap_or("MESSAGES")
    }

    /// By protocol name, case-insensitively.
    pub fn from_name(name: &str) -> Option<StatusItem> {
        Self::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(i, _)| *i)
    }
}

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Vec<String>,
    /// INTERNALDATE to give the message.
    pub date: Option<store::Timestamp>,
    /// The message, or `None` when the framing layer streams it to the store instead (see
    /// [`crate::framing`]).
    pub data: Vec<u8>,
    /// Sent as `UTF8 (~{n}...)` (RFC 6855 §4).
    pub utf8: bool,
}

/// A SEARCH (or SORT's search part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCommand {
    /// UID SEARCH (results are UIDs).
    pub uid: bool,
    /// `RETURN (...)` options (ESEARCH, RFC 4731); `None` without RETURN.
    pub returns: Option<Vec<SearchReturn>>,
    /// CHARSET of the strings; `None` when not given.
    pub charset: Option<String>,
    /// The criteria (several keys are an AND).
    pub key: SearchKey,
}

/// A SEARCH RETURN option (RFC 4731, SEARCHRES RFC 5182, CONTEXT=SEARCH RFC 5267).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE` (RFC 5182)
    Save,
    /// `CONTEXT` hint (RFC 5267 §4.2)
    Context,
    /// `UPDATE`: keep the result up to date (RFC 5267 §4.3)
    Update,
    /// `PARTIAL low:high` (RFC 5267 §4.4, negative ranges RFC 9394)
    Partial(i64, i64),
}

/// A search key (RFC 9051 §6.4.4, with CONDSTORE's MODSEQ, WITHIN's OLDER/YOUNGER and
/// SAVEDATE's SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A sequence set (message numbers).
    SeqSet(SequenceSet),
    /// Keys in parentheses, or the top-level list: all must match.
    And(Vec<SearchKey>),
    /// `MODSEQ [entry-name entry-type] modseq` (RFC 7162 §3.1.5).
    ModSeq {
        entry: Option<(String, String)>,
        modseq: u64,
    },
    /// `OLDER seconds` (RFC 5032)
    Older(u32),
    /// `YOUNGER seconds` (RFC 5032)
    Younger(u32),
    /// RFC 8514
    SavedBefore(Date),
    SavedOn(Date),
    SavedSince(Date),
    SaveDateSupported,
}

/// A date without time (`date-text`, `1-Feb-1994`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
}

/// Which mailboxes an ESEARCH (MULTISEARCH) or NOTIFY looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxFilter {
    /// `selected`
    Selected,
    /// `selected-delayed` (NOTIFY only)
    SelectedDelayed,
    /// `inboxes`
    Inboxes,
    /// `personal`
    Personal,
    /// `subscribed`
    Subscribed,
    /// `subtree (names)`
    Subtree(Vec<MailboxName>),
    /// `subtree-one (names)` (MULTISEARCH only)
    SubtreeOne(Vec<MailboxName>),
    /// `mailboxes (names)`
    Mailboxes(Vec<MailboxName>),
}

/// A FETCH data item (RFC 9051 §6.4.5, with RFC 3501's RFC822.* items, CONDSTORE's MODSEQ,
/// SAVEDATE, PREVIEW).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `BODY` (non-extensible structure)
    Body,
    /// `UID`
    Uid,
    /// `MODSEQ` (RFC 7162)
    ModSeq,
    /// `SAVEDATE` (RFC 8514)
    SaveDate,
    /// `PREVIEW` or `PREVIEW (LAZY)` (RFC 8970)
    Preview {
        /// `LAZY`
        lazy: bool,
    },
    /// `RFC822` (= `BODY[]`, RFC 3501)
    Rfc822,
    /// `RFC822.HEADER` (= `BODY.PEEK[HEADER]`)
    Rfc822Header,
    /// `RFC822.TEXT` (= `BODY[TEXT]`)
    Rfc822Text,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section.
        section: Section,
        /// `<offset.length>`
        partial: Option<(u64, u64)>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516)
    Binary {
        /// `.PEEK`
        peek: bool,
        /// Part numbers.
        part: Vec<u32>,
        /// `<offset.length>`
        partial: Option<(u64, u64)>,
    },
    /// `BINARY.SIZE[part]`
    BinarySize {
        /// Part numbers.
        part: Vec<u32>,
    },
}

/// A body section: part numbers and which text of the part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Part numbers (`1.2`); empty for the whole message.
    pub part: Vec<u32>,
    /// `HEADER`, `TEXT`, ...; `None` for the part's content.
    pub text: Option<SectionText>,
}

/// What of a part a section names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)` or `HEADER.FIELDS.NOT (names)`
    HeaderFields {
        /// `.NOT`
        not: bool,
        /// Field names.
        fields: Vec<String>,
    },
    /// `TEXT`
    Text,
    /// `MIME`
    Mime,
}

/// STORE's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// A SORT criterion (RFC 5256 §3, DISPLAY RFC 5957).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    /// `REVERSE`
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// What to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

impl SortKey {
    /// Every key with its name.
    pub const ALL: [(SortKey, &'static str); 9] = [
        (SortKey::Arrival, "ARRIVAL"),
        (SortKey::Cc, "CC"),
        (SortKey::Date, "DATE"),
        (SortKey::From, "FROM"),
        (SortKey::Size, "SIZE"),
        (SortKey::Subject, "SUBJECT"),
        (SortKey::To, "TO"),
        (SortKey::DisplayFrom, "DISPLAYFROM"),
        (SortKey::DisplayTo, "DISPLAYTO"),
    ];
}

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
}

/// GETMETADATA's DEPTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataDepth {
    /// `0`: only the entries named.
    #[default]
    Zero,
    /// `1`: also their immediate children.
    One,
    /// `infinity`: all descendants.
    Infinity,
}

/// `NOTIFY SET [STATUS] (filter (events)) ...` (RFC 5465 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySet {
    /// `STATUS`: send STATUS for the mailboxes now.
    pub status: bool,
    /// Event groups.
    pub groups: Vec<NotifyGroup>,
}

/// One `(filter (events))` group of NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyGroup {
    /// Which mailboxes.
    pub filter: MailboxFilter,
    /// Which events; `None` for `NONE`.
    pub events: Option<Vec<NotifyEvent>>,
}

/// A NOTIFY event (RFC 5465 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    /// `MessageNew [(fetch-att...)]`
    MessageNew(Vec<FetchAttr>),
    /// `MessageExpunge`
    MessageExpunge,
    /// `FlagChange`
    FlagChange,
    /// `AnnotationChange`
    AnnotationChange,
    /// `MailboxName`
    MailboxName,
    /// `SubscriptionChange`
    SubscriptionChange,
    /// `MailboxMetadataChange`
    MailboxMetadataChange,
    /// `ServerMetadataChange`
    ServerMetadataChange,
}

impl CommandBody {
    /// The command's name as a client sends it (`UID FETCH`, `SELECT`, ...), for logs.
    pub fn name(&self) -> &'static str {
        use CommandBody as C;
        match self {
            C::Capability => "CAPABILITY",
            C::Noop => "NOOP",
            C::Logout => "LOGOUT",
            C::Id(_) => "ID",
            C::StartTls => "STARTTLS",
            C::Authenticate { .. } => "AUTHENTICATE",
            C::Login { .. } => "LOGIN",
            C::Enable(_) => "ENABLE",
            C::Select { read_only: false, .. } => "SELECT",
            C::Select { read_only: true, .. } => "EXAMINE",
            C::Namespace => "NAMESPACE",
            C::Create { .. } => "CREATE",
            C::Delete(_) => "DELETE",
            C::Rename { .. } => "RENAME",
            C::Subscribe(_) => "SUBSCRIBE",
            C::Unsubscribe(_) => "UNSUBSCRIBE",
            C::List(_) => "LIST",
            C::Lsub { .. } => "LSUB",
            C::Status { .. } => "STATUS",
            C::Append { .. } => "APPEND",
            C::Idle => "IDLE",
            C::Check => "CHECK",
            C::Close => "CLOSE",
            C::Unselect => "UNSELECT",
            C::Expunge { uids: None } => "EXPUNGE",
            C::Expunge { uids: Some(_) } => "UID EXPUNGE",
            C::Search(s) if s.uid => "UID SEARCH",
            C::Search(_) => "SEARCH",
            C::Esearch { .. } => "ESEARCH",
            C::Fetch { uid: true, .. } => "UID FETCH",
            C::Fetch { .. } => "FETCH",
            C::Store { uid: true, .. } => "UID STORE",
            C::Store { .. } => "STORE",
            C::Copy { uid: true, .. } => "UID COPY",
            C::Copy { .. } => "COPY",
            C::Move { uid: true, .. } => "UID MOVE",
            C::Move { .. } => "MOVE",
            C::Replace { uid: true, .. } => "UID REPLACE",
            C::Replace { .. } => "REPLACE",
            C::Sort { search, .. } if search.uid => "UID SORT",
            C::Sort { .. } => "SORT",
            C::Thread { uid: true, .. } => "UID THREAD",
            C::Thread { .. } => "THREAD",
            C::CancelUpdate(_) => "CANCELUPDATE",
            C::GetMetadata { .. } => "GETMETADATA",
            C::SetMetadata { .. } => "SETMETADATA",
            C::GetQuota(_) => "GETQUOTA",
            C::GetQuotaRoot(_) => "GETQUOTAROOT",
            C::SetQuota { .. } => "SETQUOTA",
            C::Notify(_) => "NOTIFY",
            C::Compress(_) => "COMPRESS",
        }
    }
}
