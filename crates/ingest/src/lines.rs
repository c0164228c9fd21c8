//! Reading NDJSON from any byte stream, for the HTTP bulk endpoint and `tongdang import` alike:
//! numbered lines, each the text or the reason it is refused. An over-long line is skipped to
//! its end without being held; blank lines are passed over (but counted).

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};
use tongdang_fhir::{Issue, IssueCode};

/// Lines handed to the pipeline at a time.
pub const CHUNK_LINES: usize = 2000;

/// A line: its number (from 1) and its text, or why it is refused.
pub type Line = (u64, Result<String, Issue>);

/// Numbered NDJSON lines from `R`, each at most `limit` bytes.
pub struct LineReader<R> {
    reader: R,
    limit: usize,
    line_no: u64,
    consumed: u64,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Lines of `reader`, refusing those longer than `limit` bytes.
    pub fn new(reader: R, limit: usize) -> LineReader<R> {
        LineReader { reader, limit, line_no: 0, consumed: 0, buf: Vec::new() }
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The number of the last line read.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next non-blank line, `None` at the end, or the error of the underlying stream.
    pub async fn next(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            self.buf.clear();
            let cap = self.limit as u64 + 1;
            let n = (&mut self.reader).take(cap).read_until(b'\n', &mut self.buf).await?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            self.consumed += n as u64;
            if self.buf.len() as u64 == cap && self.buf.last() != Some(&b'\n') {
                let skipped = self.skip_rest().await? + self.buf.len();
                return Ok(Some((self.line_no, Err(too_long(skipped, self.limit)))));
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = std::str::from_utf8(&self.buf).map(|t| t.trim_end().to_string()).map_err(|_| not_utf8());
            return Ok(Some((self.line_no, line)));
        }
    }

    /// Skip to the end of the current line without holding it; returns the bytes skipped.
    async fn skip_rest(&mut self) -> std::io::Result<usize> {
        let mut skipped = 0;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                break;
            }
            let (take, done) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            self.reader.consume(take);
            skipped += take;
            if done {
                break;
            }
        }
        self.consumed += skipped as u64;
        Ok(skipped)
    }
}

/// The refusal of a line longer than `limit` bytes.
pub fn too_long(len: usize, limit: usize) -> Issue {
    Issue::error(IssueCode::TooLong, "", format!("line of {len} bytes is longer than the limit of {limit} bytes"))
}

/// The refusal of a line that is not UTF-8.
pub fn not_utf8() -> Issue {
    Issue::error(IssueCode::Structure, "", "not UTF-8 text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_numbered_and_bad_ones_refused_without_stopping() {
        let body =
            b"{\"a\":1}\n\n   \n".iter().copied().chain(vec![b'x'; 50]).chain(*b"\n\xff\xfe\n{\"b\":2}").collect::<Vec<u8>>();
        let mut r = LineReader::new(&body[..], 20);
        assert_eq!(r.next().await.unwrap().unwrap(), (1, Ok("{\"a\":1}".to_string())));
        let (n, long) = r.next().await.unwrap().unwrap();
        assert_eq!(n, 4);
        assert_eq!(long.unwrap_err().code, IssueCode::TooLong);
        let (n, bad) = r.next().await.unwrap().unwrap();
        assert_eq!((n, bad.unwrap_err().message.as_str()), (5, "not UTF-8 text"));
        assert_eq!(r.next().await.unwrap().unwrap(), (6, Ok("{\"b\":2}".to_string())));
        assert_eq!(r.next().await.unwrap(), None);
        assert_eq!(r.consumed(), body.len() as u64);
    }
}
