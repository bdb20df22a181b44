//! Words for errors that every layer shows: an operating-system error in the
//! plain words of a one-sentence message. Owns no error type; each layer has
//! its own (`StoreError`, `ConfigError`, …) and words its causes with this.

/// An I/O error in plain words, without Rust's "(os error N)".
pub fn io_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" (os error ") {
        Some((words, _)) => words.to_lowercase(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_errors_lose_their_number() {
        let e = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(super::io_words(&e), "permission denied");
        let plain = std::io::Error::other("the disk is full");
        assert_eq!(super::io_words(&plain), "the disk is full");
    }
}
