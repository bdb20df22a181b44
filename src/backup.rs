//! The backup file: one consistent copy of the store (sessions, courses,
//! changes, health, the schema version and notes) that `events restore`
//! turns back into a store serving the same bytes.
//!
//! Owns the file's layout and its checks. A file is gzip of:
//! `EVENTS-BACKUP 1\n`, a JSON header line (`schema`, `created`), then
//! records (part tag `u8`, key length `u32`, key, value length `u32`, value;
//! big-endian), then the end tag `0xFF`, the record count (`u64`) and the
//! SHA-256 of every byte before the hash. Knows the store's parts
//! (`store::Part`), not what a record means; knows nothing of HTTP (the
//! server and the CLI move the bytes).

use crate::store::{Part, Store, StoreError, SCHEMA_VERSION};
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The first line of every backup file.
const MAGIC: &[u8] = b"EVENTS-BACKUP 1\n";

/// The tag that ends the records.
const END: u8 = 0xFF;

/// The longest header line read; a real one is under 100 bytes.
const MAX_HEADER_BYTES: usize = 4096;

/// The longest key or value a backup may hold. A session record is a few
/// kilobytes; anything longer is a damaged file, not a record.
pub const MAX_RECORD_BYTES: u32 = 16 * 1024 * 1024;

/// Records written to the store in one batch while restoring.
const RESTORE_BATCH: usize = 4096;

/// Bytes of keys and values held for one batch while restoring: records can
/// be up to [`MAX_RECORD_BYTES`], so the count alone does not bound memory.
const RESTORE_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// Why a backup could not be written or read, in one sentence.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed while it was read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backup file could not be written or read.
    #[error("{doing} {path}: {message}")]
    Io {
        /// What was being done: "writing the backup" or "reading the backup".
        doing: &'static str,
        /// The file.
        path: PathBuf,
        /// What the file system said.
        message: String,
    },
    /// The file is not a whole backup written by `events backup`.
    #[error("{path} is not a complete events backup ({why}); take a new one with `events backup`")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A newer build wrote it.
    #[error("{path} was written by a newer version of events (schema {found}, this build reads up to {SCHEMA_VERSION}); restore it with that version or later")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: u64,
    },
    /// Restore never writes over a store.
    #[error("the data directory {path} is not empty; restore into a new or empty directory, then point --data at it")]
    NotEmpty {
        /// The data directory.
        path: PathBuf,
    },
}

/// What a backup's header says.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// The store's schema version.
    pub schema: u64,
    /// When the copy was taken (RFC 3339, UTC).
    pub created: String,
}

/// What a backup held, for the command's one-line report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Sessions, withdrawn ones included.
    pub sessions: u64,
    /// Changes kept.
    pub changes: u64,
    /// Records of every part.
    pub records: u64,
}

/// Writes a backup of `store` to `out` (gzip), taken as one consistent state.
pub fn write(store: &Store, now: DateTime<Utc>, out: impl Write) -> std::io::Result<Summary> {
    let mut w = Hashing {
        inner: GzEncoder::new(out, flate2::Compression::fast()),
        hash: Sha256::new(),
    };
    w.write_all(MAGIC)?;
    let header = Header {
        schema: store.schema_version(),
        created: now.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let line = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    w.write_all(&line)?;
    w.write_all(b"\n")?;
    let mut summary = Summary::default();
    store.dump(|part, k, v| -> std::io::Result<()> {
        w.write_all(&[part.tag()])?;
        for bytes in [k, v] {
            let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
            w.write_all(&len.to_be_bytes())?;
            w.write_all(bytes)?;
        }
        summary.count(part);
        Ok(())
    })?;
    w.write_all(&[END])?;
    w.write_all(&summary.records.to_be_bytes())?;
    let digest = w.hash.clone().finalize();
    w.inner.write_all(&digest)?;
    w.inner.finish()?.flush()?;
    Ok(summary)
}

impl From<StoreError> for std::io::Error {
    fn from(e: StoreError) -> Self {
        std::io::Error::other(e)
    }
}

impl Summary {
    fn count(&mut self, part: Part) {
        self.records += 1;
        match part {
            Part::Sessions => self.sessions += 1,
            Part::Changes => self.changes += 1,
            _ => {}
        }
    }
}

/// Writes a backup of `store` to `path`: into a file beside it first, renamed
/// into place once complete, so `path` is never a half-written backup.
pub fn write_file(store: &Store, now: DateTime<Utc>, path: &Path) -> Result<Summary, BackupError> {
    let io = |e: std::io::Error| BackupError::Io {
        doing: "writing the backup",
        path: path.to_path_buf(),
        message: crate::errors::io_words(&e),
    };
    let dir = parent_dir(path);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let summary =
        write(store, now, std::io::BufWriter::new(tmp.as_file_mut())).map_err(|e| match e
            .downcast::<StoreError>()
        {
            Ok(s) => BackupError::Store(s),
            Err(e) => io(e),
        })?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(summary)
}

/// The directory a file named `path` sits in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Reads the backup at `path` through, checking its layout, limits and
/// hash, without writing anything: `Ok` only for a whole, undamaged file.
pub fn verify(path: &Path) -> Result<(Header, Summary), BackupError> {
    read(path, |_, _| Ok(()))
}

/// Restores the backup at `path` into the store directory `dir`, which must
/// be missing or empty: the whole file is checked first, so a damaged one
/// leaves nothing behind.
pub fn restore(path: &Path, dir: &Path) -> Result<Summary, BackupError> {
    let (header, _) = verify(path)?;
    if header.schema > SCHEMA_VERSION {
        return Err(BackupError::TooNew {
            path: path.to_path_buf(),
            found: header.schema,
        });
    }
    refuse_non_empty(dir)?;
    let store = Store::open(dir)?;
    let mut batch: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut batch_part = Part::Sessions;
    let mut batch_bytes = 0usize;
    let (_, summary) = read(path, |part, record| {
        if part != batch_part || batch.len() >= RESTORE_BATCH || batch_bytes >= RESTORE_BATCH_BYTES
        {
            store.load(batch_part, &batch)?;
            batch.clear();
            batch_bytes = 0;
            batch_part = part;
        }
        batch_bytes += record.0.len() + record.1.len();
        batch.push(record);
        Ok(())
    })?;
    store.load(batch_part, &batch)?;
    store.flush()?;
    Ok(summary)
}

fn refuse_non_empty(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Io {
            doing: "reading the data directory",
            path: dir.to_path_buf(),
            message: crate::errors::io_words(&e),
        }),
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(BackupError::NotEmpty {
                path: dir.to_path_buf(),
            }),
        },
    }
}

/// Reads every record of the file at `path`, calling `each` with it, and
/// checks the file's end: its count and hash.
fn read(
    path: &Path,
    each: impl FnMut(Part, (Vec<u8>, Vec<u8>)) -> Result<(), BackupError>,
) -> Result<(Header, Summary), BackupError> {
    let file = std::fs::File::open(path).map_err(|e| BackupError::Io {
        doing: "reading the backup",
        path: path.to_path_buf(),
        message: crate::errors::io_words(&e),
    })?;
    read_from(path, file, each)
}

/// Checks the backup bytes `r` as [`verify`] checks a file; `path` only
/// names it in errors (for checking a backup that is not a file, e.g. in a
/// fuzz target).
pub fn verify_from(path: &Path, r: impl Read) -> Result<(Header, Summary), BackupError> {
    read_from(path, r, |_, _| Ok(()))
}

/// [`read`] of a backup's bytes from `r`.
fn read_from(
    path: &Path,
    r: impl Read,
    mut each: impl FnMut(Part, (Vec<u8>, Vec<u8>)) -> Result<(), BackupError>,
) -> Result<(Header, Summary), BackupError> {
    let damaged = |why: String| BackupError::Damaged {
        path: path.to_path_buf(),
        why,
    };
    let mut r = Reader {
        inner: BufReader::new(GzDecoder::new(BufReader::new(r))),
        hash: Sha256::new(),
    };
    let header = r.header().map_err(|e| damaged(e.to_string()))?;
    let mut summary = Summary::default();
    loop {
        let tag = r.byte().map_err(|e| damaged(words(&e)))?;
        if tag == END {
            break;
        }
        let part = Part::from_tag(tag).ok_or_else(|| damaged(format!("unknown part {tag}")))?;
        let key = r.field().map_err(|e| damaged(words(&e)))?;
        let value = r.field().map_err(|e| damaged(words(&e)))?;
        summary.count(part);
        each(part, (key, value))?;
    }
    r.end(summary.records).map_err(damaged)?;
    Ok((header, summary))
}

/// An I/O error in the words of a damaged file.
fn words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "it ends early".into(),
        _ => crate::errors::io_words(e),
    }
}

/// A writer that hashes what it writes.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what it reads.
struct Reader<R: BufRead> {
    inner: R,
    hash: Sha256,
}

impl<R: BufRead> Reader<R> {
    fn exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        self.inner.read_exact(&mut buf)?;
        self.hash.update(&buf);
        Ok(buf)
    }

    fn byte(&mut self) -> std::io::Result<u8> {
        Ok(self.exact(1)?[0])
    }

    fn field(&mut self) -> std::io::Result<Vec<u8>> {
        let len = u32::from_be_bytes(self.exact(4)?.try_into().unwrap_or_default());
        if len > MAX_RECORD_BYTES {
            return Err(std::io::Error::other(format!(
                "a record of {len} bytes, over the {MAX_RECORD_BYTES} a backup holds"
            )));
        }
        self.exact(len as usize)
    }

    fn header(&mut self) -> Result<Header, String> {
        let magic = self.exact(MAGIC.len()).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                "it is not gzip".to_string()
            }
            _ => words(&e),
        })?;
        if magic != MAGIC {
            return Err("it does not start as one".into());
        }
        let mut line = Vec::new();
        (&mut self.inner)
            .take(MAX_HEADER_BYTES as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| words(&e))?;
        self.hash.update(&line);
        serde_json::from_slice(line.trim_ascii_end())
            .map_err(|e| format!("its header does not read ({e})"))
    }

    /// Checks the count and hash after the end tag, and that nothing follows.
    fn end(&mut self, records: u64) -> Result<(), String> {
        let count = self.exact(8).map_err(|e| words(&e))?;
        if u64::from_be_bytes(count.try_into().unwrap_or_default()) != records {
            return Err("its record count does not match".into());
        }
        let expected = self.hash.clone().finalize();
        let mut digest = [0u8; 32];
        self.inner.read_exact(&mut digest).map_err(|e| words(&e))?;
        if digest[..] != expected[..] {
            return Err("its checksum does not match".into());
        }
        let mut rest = [0u8; 1];
        match self.inner.read(&mut rest) {
            Ok(0) => Ok(()),
            Ok(_) => Err("bytes follow its end".into()),
            Err(e) => Err(words(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 2, 15, 0).unwrap()
    }

    /// A backup file as `events backup` lays it out, with any header and
    /// records, hashed as the writer hashes.
    fn crafted(schema: u64, records: &[(Part, &[u8], &[u8])]) -> Vec<u8> {
        let mut w = Hashing {
            inner: GzEncoder::new(Vec::new(), flate2::Compression::fast()),
            hash: Sha256::new(),
        };
        w.write_all(MAGIC).unwrap();
        let header = format!(r#"{{"schema":{schema},"created":"2026-12-04T02:15:00Z"}}"#);
        w.write_all(header.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        for (part, k, v) in records {
            w.write_all(&[part.tag()]).unwrap();
            for b in [k, v] {
                w.write_all(&(b.len() as u32).to_be_bytes()).unwrap();
                w.write_all(b).unwrap();
            }
        }
        w.write_all(&[END]).unwrap();
        w.write_all(&(records.len() as u64).to_be_bytes()).unwrap();
        let digest = w.hash.clone().finalize();
        w.inner.write_all(&digest).unwrap();
        w.inner.finish().unwrap()
    }

    #[test]
    fn a_backup_restores_every_record_it_took() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("a")).unwrap();
        store
            .load(Part::Courses, &[(b"neglect".to_vec(), b"{}".to_vec())])
            .unwrap();
        let file = tmp.path().join("a.backup");
        let taken = write_file(&store, now(), &file).unwrap();
        let restored = restore(&file, &tmp.path().join("b")).unwrap();
        assert_eq!(taken, restored);
        let again = Store::open(&tmp.path().join("b")).unwrap();
        let mut courses = Vec::new();
        again
            .dump(|part, k, _| -> std::io::Result<()> {
                if part == Part::Courses {
                    courses.push(k.to_vec());
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(courses, vec![b"neglect".to_vec()]);
    }

    #[test]
    fn a_newer_schema_is_refused_in_one_sentence() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("new.backup");
        std::fs::write(&file, crafted(SCHEMA_VERSION + 1, &[])).unwrap();
        let dir = tmp.path().join("data");
        let e = restore(&file, &dir).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} was written by a newer version of events (schema {}, this build reads up to {SCHEMA_VERSION}); restore it with that version or later",
                file.display(),
                SCHEMA_VERSION + 1
            )
        );
        assert!(!dir.exists(), "nothing is made from a refused backup");
    }

    #[test]
    fn a_changed_byte_or_a_forged_record_is_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f.backup");
        let records: &[(Part, &[u8], &[u8])] = &[(Part::Meta, b"k", b"v")];
        let good = crafted(SCHEMA_VERSION, records);
        std::fs::write(&file, &good).unwrap();
        assert_eq!(verify(&file).unwrap().1.records, 1);

        // Flip a byte inside the record: gzip's own CRC or our hash notices.
        let mut plain = Vec::new();
        GzDecoder::new(&good[..]).read_to_end(&mut plain).unwrap();
        let at = plain.len() - 32 - 8 - 2;
        plain[at] ^= 0x20;
        let mut z = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&plain).unwrap();
        std::fs::write(&file, z.finish().unwrap()).unwrap();
        let e = verify(&file).unwrap_err().to_string();
        assert!(e.ends_with("is not a complete events backup (its checksum does not match); take a new one with `events backup`"), "{e}");

        std::fs::write(&file, b"not a backup at all").unwrap();
        let e = verify(&file).unwrap_err().to_string();
        assert!(e.contains("(it is not gzip)"), "{e}");
    }
}
