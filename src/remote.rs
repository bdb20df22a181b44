//! Asking a running `events serve` instead of reading the store: a
//! deployment named by `--server URL` (or `EVENTS_SERVER`), or the local
//! server that holds the data directory and left its address there.
//!
//! Owns the address file `serve` writes into its data directory
//! ([`SERVING_FILE`]), the HTTP client of the read API and of `/backup`,
//! and their errors. Knows the answers' JSON shapes (`answers`), not how
//! they are printed, and nothing of the store.

use crate::answers::{ChangesQuery, SessionsQuery};
use crate::model::Course;
use crate::present::change::ChangeJson;
use crate::present::duplicates::GroupJson;
use crate::present::{self, SessionJson};
use crate::source_status::SourceStatus;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// The file in the data directory where a running `serve` leaves its own
/// loopback address and the token `events backup` shows it; removed when
/// the server stops.
pub const SERVING_FILE: &str = "serving.json";

/// How long connecting to a server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one answer may take, backups included.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// The largest answer read from a server; a whole national calendar is
/// well under this.
pub const MAX_ANSWER_BYTES: u64 = 512 * 1024 * 1024;

/// The largest backup `events backup` takes from a server: far above any
/// real store (a national-scale one backs up to tens of megabytes).
pub const MAX_BACKUP_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// The longest part of a server's error answer quoted in a sentence.
const MAX_QUOTED_CHARS: usize = 300;

/// Most parts of one paged answer followed (`Link: rel="next"`), each of
/// up to `query::part::MAX_API_LIMIT` sessions: a million sessions.
pub const MAX_ANSWER_PARTS: usize = 1000;

/// Why a server could not be asked, in one sentence saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// `--server` is not an http(s) address.
    #[error("`{0}` is not a server address; give its http or https address, e.g. https://training.example.org")]
    BadUrl(String),
    /// No answer: refused, timed out, no such host.
    #[error("cannot reach the events server at {url} ({why}); check --server (or EVENTS_SERVER) and that the server is running")]
    Unreachable {
        /// The server's address.
        url: String,
        /// What went wrong, in words.
        why: String,
    },
    /// It answered a question with a refusal: its sentence is the error.
    #[error("{message}")]
    Refused {
        /// The server's own sentence (clipped, terminal-safe).
        message: String,
    },
    /// It answered with an error that is not the question's fault.
    #[error("the events server at {url} answered {status}: {message}")]
    Failed {
        /// The address asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Its sentence (clipped, terminal-safe).
        message: String,
    },
    /// The answer is not the shape this build reads.
    #[error("the events server at {url} sent an answer this version of events cannot read ({why}); it may run another version")]
    Unreadable {
        /// The address asked.
        url: String,
        /// What did not read.
        why: String,
    },
    /// A paged answer went on past [`MAX_ANSWER_PARTS`] parts, or its
    /// next part is on another server.
    #[error("the answer from {url} went on past {MAX_ANSWER_PARTS} parts or pointed to another server; ask for less (e.g. --source or --days)")]
    Endless {
        /// The address of the last part asked.
        url: String,
    },
    /// The answer is over [`MAX_ANSWER_BYTES`].
    #[error("the answer from {url} is larger than {} MiB, more than events reads; ask for less (e.g. --source or --days)", MAX_ANSWER_BYTES / 1024 / 1024)]
    TooLarge {
        /// The address asked.
        url: String,
    },
    /// Writing what was received to a file failed.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        message: String,
    },
}

/// What a running `serve` leaves in its data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serving {
    /// Where it answers on this machine, e.g. `http://127.0.0.1:8080/`.
    pub url: String,
    /// Its process id, so a file left by a killed server is not trusted.
    pub pid: u32,
    /// The secret `/backup` asks for: only those who may read the data
    /// directory (and so could copy the store) may take a backup.
    pub token: String,
}

impl Serving {
    /// The file for a server listening on `addr`, with a new random token.
    pub fn new(addr: std::net::SocketAddr) -> Serving {
        // A server listening on every address is reached here on loopback.
        let ip = match addr.ip() {
            std::net::IpAddr::V4(a) if a.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(a) if a.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Serving {
            url: format!("http://{}/", std::net::SocketAddr::new(ip, addr.port())),
            pid: std::process::id(),
            token: secret.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// Writes the file into `dir` (readable by its owner only) and returns
    /// a guard that removes it when dropped.
    pub fn announce(&self, dir: &Path) -> std::io::Result<Announced> {
        let path = dir.join(SERVING_FILE);
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(tmp.as_file_mut(), self).map_err(std::io::Error::other)?;
        // NamedTempFile is made with mode 0600 already.
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(Announced { path })
    }

    /// The server that holds the data directory `dir`, if one says so and
    /// its process is still running.
    pub fn of(dir: &Path) -> Option<Serving> {
        let bytes = std::fs::read(dir.join(SERVING_FILE)).ok()?;
        let s: Serving = serde_json::from_slice(&bytes).ok()?;
        process_alive(s.pid).then_some(s)
    }
}

/// Removes the address file when the server stops.
#[derive(Debug)]
pub struct Announced {
    path: PathBuf,
}

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 only asks whether the process exists; EPERM means it does.
    // SAFETY: kill with signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// A running server's read API.
#[derive(Debug, Clone)]
pub struct Remote {
    base: Url,
    client: reqwest::Client,
}

impl Remote {
    /// The server at `url` (its root; a trailing path is kept as the base).
    pub fn new(url: &str) -> Result<Remote, RemoteError> {
        let mut base = Url::parse(url.trim()).map_err(|_| RemoteError::BadUrl(url.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(RemoteError::BadUrl(url.to_string()));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.set_query(None);
        base.set_fragment(None);
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ANSWER_TIMEOUT)
            .user_agent(concat!("events/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RemoteError::Unreachable {
                url: url.to_string(),
                why: e.to_string(),
            })?;
        Ok(Remote { base, client })
    }

    /// The server's root address.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// `/api/sessions` for `q`: every part, following each answer's
    /// `Link: <…>; rel="next"` to the last.
    pub async fn sessions(&self, q: &SessionsQuery) -> Result<Vec<SessionJson>, RemoteError> {
        let mut query = q.to_query();
        let limit = format!("limit={}", crate::query::part::MAX_API_LIMIT);
        query = if query.is_empty() {
            limit
        } else {
            format!("{query}&{limit}")
        };
        let mut url = self.address("api/sessions", &query);
        let mut all = Vec::new();
        for _ in 0..MAX_ANSWER_PARTS {
            let mut body = Vec::new();
            let next = self
                .fetch_url(url.clone(), None, &mut body, MAX_ANSWER_BYTES)
                .await?;
            let part: Vec<SessionJson> = read_json(&url, &body)?;
            all.extend(part);
            match next {
                None => return Ok(all),
                Some(n) if n.origin() == self.base.origin() => url = n,
                Some(_) => break,
            }
        }
        Err(RemoteError::Endless {
            url: url.to_string(),
        })
    }

    /// `/api/changes` for `q`.
    pub async fn changes(&self, q: &ChangesQuery) -> Result<Vec<ChangeJson>, RemoteError> {
        self.json("api/changes", &q.to_query()).await
    }

    /// `/api/duplicates`.
    pub async fn duplicates(&self) -> Result<Vec<GroupJson>, RemoteError> {
        self.json("api/duplicates", "").await
    }

    /// `/api/courses`.
    pub async fn courses(&self) -> Result<Vec<Course>, RemoteError> {
        self.json("api/courses", "").await
    }

    /// `/api/sources`.
    pub async fn sources(&self) -> Result<Vec<SourceStatus>, RemoteError> {
        self.json("api/sources", "").await
    }

    /// The feed `/calendar.ics` serves for `query`.
    pub async fn feed(&self, query: &str) -> Result<Vec<u8>, RemoteError> {
        self.bytes("calendar.ics", query, None).await
    }

    /// A backup taken by the server, streamed into the file `to` (never
    /// held in memory whole).
    pub async fn backup(&self, token: &str, to: &Path) -> Result<(), RemoteError> {
        let write = |e: std::io::Error| RemoteError::Write {
            path: to.to_path_buf(),
            message: crate::errors::io_words(&e),
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(to).map_err(write)?);
        self.fetch("backup", "", Some(token), &mut file, MAX_BACKUP_BYTES)
            .await?;
        std::io::Write::flush(&mut file).map_err(write)?;
        Ok(())
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
    ) -> Result<T, RemoteError> {
        let body = self.bytes(path, query, None).await?;
        read_json(&self.address(path, query), &body)
    }

    fn address(&self, path: &str, query: &str) -> Url {
        let mut u = self.base.join(path).unwrap_or_else(|_| self.base.clone());
        u.set_query((!query.is_empty()).then_some(query));
        u
    }

    async fn bytes(
        &self,
        path: &str,
        query: &str,
        token: Option<&str>,
    ) -> Result<Vec<u8>, RemoteError> {
        let mut body = Vec::new();
        self.fetch(path, query, token, &mut body, MAX_ANSWER_BYTES)
            .await?;
        Ok(body)
    }

    /// Asks for `path?query` and writes a successful answer's body into
    /// `sink`, at most `limit` bytes; any other answer is an error quoting
    /// the server's sentence.
    async fn fetch(
        &self,
        path: &str,
        query: &str,
        token: Option<&str>,
        sink: &mut dyn std::io::Write,
        limit: u64,
    ) -> Result<(), RemoteError> {
        let url = self.address(path, query);
        self.fetch_url(url, token, sink, limit).await.map(|_| ())
    }

    /// The same for `url`; returns the answer's next part (RFC 8288
    /// `Link: <…>; rel="next"`, resolved against `url`), if it names one.
    async fn fetch_url(
        &self,
        url: Url,
        token: Option<&str>,
        sink: &mut dyn std::io::Write,
        limit: u64,
    ) -> Result<Option<Url>, RemoteError> {
        let mut req = self.client.get(url.clone());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let unreachable = |e: reqwest::Error| RemoteError::Unreachable {
            url: self.base.to_string(),
            why: reqwest_words(&e),
        };
        let mut resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        if !status.is_success() {
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
                let room = (MAX_QUOTED_CHARS * 4).saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            return Err(refusal(&url, status, &body));
        }
        let next = resp
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link)
            .and_then(|target| url.join(target).ok());
        let mut written = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            written += chunk.len() as u64;
            if written > limit {
                return Err(RemoteError::TooLarge {
                    url: url.to_string(),
                });
            }
            sink.write_all(&chunk).map_err(|e| RemoteError::Write {
                path: PathBuf::from(url.path()),
                message: crate::errors::io_words(&e),
            })?;
        }
        Ok(next)
    }
}

/// `body` read as JSON, or the error naming `url`.
fn read_json<T: serde::de::DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, RemoteError> {
    serde_json::from_slice(body).map_err(|e| RemoteError::Unreadable {
        url: url.to_string(),
        why: e.to_string(),
    })
}

/// The target of the first `rel="next"` link in one `Link` header value
/// (RFC 8288: comma-separated `<target>; param=value` links, `rel` a
/// space-separated list, quoted or not), as written between its `<` and
/// `>`: relative targets are left for the caller to resolve. `None` when no
/// link is `next`. The header is the server's word, so any text is read
/// without panicking; a link ends at a comma outside its target and outside
/// quotes, so a target or a quoted parameter may hold commas.
pub fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while !rest.is_empty() {
        let link = rest.trim_start();
        rest = match link.strip_prefix('<').and_then(|l| l.split_once('>')) {
            Some((target, after)) => {
                let (params, next) = until_unquoted(after, ',');
                if rel_is_next(params) {
                    return Some(target);
                }
                next
            }
            // Not a link: skip to the next one.
            None => until_unquoted(link, ',').1,
        };
    }
    None
}

/// `s` up to the first `sep` outside quotes, and what follows it: a link
/// ends at such a comma, a parameter at such a semicolon.
fn until_unquoted(s: &str, sep: char) -> (&str, &str) {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => return (&s[..i], &s[i + 1..]),
            _ => {}
        }
    }
    (s, "")
}

/// Whether a link's parameters say `rel` holds `next`.
fn rel_is_next(params: &str) -> bool {
    let mut rest = params;
    while !rest.is_empty() {
        let (param, next) = until_unquoted(rest, ';');
        rest = next;
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let is_next = name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("next"));
        if is_next {
            return true;
        }
    }
    false
}

/// The error for a server's answer other than success: its `400` sentence
/// as the error, or the status and what it said.
fn refusal(url: &Url, status: reqwest::StatusCode, body: &[u8]) -> RemoteError {
    let message = present::terminal_safe(&present::clip(
        String::from_utf8_lossy(body).trim(),
        MAX_QUOTED_CHARS,
    ));
    if status == reqwest::StatusCode::BAD_REQUEST {
        return RemoteError::Refused { message };
    }
    RemoteError::Failed {
        url: url.to_string(),
        status: status.as_u16(),
        message,
    }
}

/// A client error in words, without reqwest's nesting of causes.
fn reqwest_words(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "it did not answer in time".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn the_next_link_is_found_among_others() {
        assert_eq!(
            next_link(r#"</api/sessions?after=20270105T093000Z_a&limit=5>; rel="next""#),
            Some("/api/sessions?after=20270105T093000Z_a&limit=5")
        );
        assert_eq!(
            next_link(
                r#"<https://x.example/a>; rel="prev first", <https://x.example/b>; title="b"; REL=next"#
            ),
            Some("https://x.example/b")
        );
        assert_eq!(next_link(r#"<https://x.example/a>; rel="nextish""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn commas_in_a_target_or_in_quotes_stay_in_their_link() {
        assert_eq!(
            next_link(
                r#"<https://x.example/a>; title="a, b; rel=next", <https://x.example/s?c=1,2>; rel=next"#
            ),
            Some("https://x.example/s?c=1,2")
        );
        assert_eq!(
            next_link(r#"junk, "more, junk", <https://x.example/b>; rel="next""#),
            Some("https://x.example/b")
        );
        assert_eq!(
            next_link(r#"<https://x.example/a>; title="\", rel=next""#),
            None
        );
    }
}
