//! Commit metadata as findings carry it.

use chrono::{DateTime, FixedOffset};
use sg_engine::CommitInfo;

/// Author, date (RFC 3339, in the author's offset) and summary of `commit`. Names and
/// messages that are not UTF-8 are shown lossily rather than dropped.
pub(crate) fn commit_info(commit: &git2::Commit<'_>) -> CommitInfo {
    let author = commit.author();
    let when = author.when();
    let date = FixedOffset::east_opt(when.offset_minutes() * 60)
        .and_then(|offset| {
            DateTime::from_timestamp(when.seconds(), 0).map(|utc| utc.with_timezone(&offset))
        })
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    CommitInfo {
        id: commit.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date,
        summary: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    }
}
