//! Opaque page cursors: the `(sort_time, id)` of the last entry returned. Paging by key, not
//! offset, keeps every page O(page size) however deep the record.

use data_encoding::BASE64URL_NOPAD;
use tongdang_core::{EntryId, Timestamp};

/// Encode a position.
pub fn encode(sort_time: Timestamp, id: EntryId) -> String {
    BASE64URL_NOPAD.encode(format!("{}:{}", sort_time.0, id.0).as_bytes())
}

/// Decode a cursor; `None` when it is not one of ours.
pub fn decode(cursor: &str) -> Option<(Timestamp, EntryId)> {
    let bytes = BASE64URL_NOPAD.decode(cursor.as_bytes()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (t, id) = text.split_once(':')?;
    Some((Timestamp(t.parse().ok()?), EntryId(id.parse().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode(Timestamp(-5), EntryId(42));
        assert_eq!(decode(&c), Some((Timestamp(-5), EntryId(42))));
        assert_eq!(decode("!!"), None);
        assert_eq!(decode(&BASE64URL_NOPAD.encode(b"1:x")), None);
    }
}
