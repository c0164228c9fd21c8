//! The patient index as stored: match records and their blocking keys, the review queue, the
//! history of link operations, and the matching parameters. The SQL is the same on both
//! dialects and is generated into each dialect's `sql` module by [`mpi_sql!`].

use tongdang_core::{PersonId, Timestamp};

/// A Patient record's demographics in matching form, as the index holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRecord {
    /// The patient record id.
    pub record: i64,
    /// Its person.
    pub person: PersonId,
    /// The serialized demographics (`tongdang_identity::demographics::Demographics`).
    pub demographics: String,
}

/// A match record to write, with its blocking keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRecordWrite {
    /// The record.
    pub record: MatchRecord,
    /// Its blocking keys (replacing any it had).
    pub keys: Vec<i64>,
    /// Whether the record may have keys already (an update); a new one has none to remove.
    pub replaces: bool,
}

/// A possible match waiting for a person to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReview {
    /// The record that was not linked.
    pub record: i64,
    /// The person it was given.
    pub person: PersonId,
    /// The person it may belong to.
    pub candidate: PersonId,
    /// Match weight (log2 likelihood ratio).
    pub weight: f64,
    /// Why it is in review: `possible-match`, `identifier-conflict`, `ambiguous`.
    pub reason: String,
}

/// A review item.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    /// Id.
    pub id: i64,
    /// The record and what was decided for it.
    pub review: NewReview,
    /// `open`, `linked` or `distinct`.
    pub status: String,
    /// When raised.
    pub created_at: Timestamp,
    /// When decided.
    pub decided_at: Option<Timestamp>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

/// An operator's change to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelinkOp {
    /// Move one Patient record to an existing person.
    Link {
        /// The record.
        record: i64,
        /// The person it belongs to.
        person: PersonId,
    },
    /// Move one Patient record to a person of its own.
    Unlink {
        /// The record.
        record: i64,
    },
    /// Move every record of `from` to `into`; `from` then redirects to `into`.
    Merge {
        /// Merged away.
        from: PersonId,
        /// The survivor.
        into: PersonId,
    },
    /// Undo a merge: the records it moved go back, and the merged person is active again.
    Unmerge {
        /// The merge event.
        event: i64,
    },
}

/// One recorded change of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiEvent {
    /// Id.
    pub id: i64,
    /// `link`, `unlink`, `merge`, `unmerge`, `review-link`.
    pub kind: String,
    /// The person records moved to (merge, link: the survivor; unlink: the new person; unmerge:
    /// the restored person).
    pub person: PersonId,
    /// The person records moved from.
    pub other: Option<PersonId>,
    /// The patient records moved.
    pub records: Vec<i64>,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
    /// The event that undid this one.
    pub undone_by: Option<i64>,
}

/// One source record and its person, for evaluation and export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    /// Patient record id.
    pub record: i64,
    /// Institution.
    pub institution: String,
    /// The institution's Patient id.
    pub source_id: String,
    /// The person.
    pub person: PersonId,
}

/// Headline figures of the index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MpiCounts {
    /// Active persons.
    pub persons: i64,
    /// Persons merged into another.
    pub merged: i64,
    /// Patient records (links from a source record to a person).
    pub records: i64,
    /// Open review items.
    pub open_reviews: i64,
}

/// Whether a person exists, and where it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonStatus {
    /// An active person.
    Active,
    /// Merged into this person (following the chain to an active one).
    MergedInto(PersonId),
}

pub(crate) fn ids_to_text(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn ids_from_text(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

/// The index's SQL, expanded into each dialect's `sql` module next to [`crate::shared::shared_sql!`].
macro_rules! mpi_sql {
    ($db:ty, $conn:ty) => {
        fn match_record_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::MatchRecord> {
            use sqlx::Row;
            Ok(crate::MatchRecord { record: r.try_get(0)?, person: tongdang_core::PersonId(r.try_get(1)?), demographics: r.try_get(2)? })
        }

        /// `(key, record)` for every indexed record under these keys.
        pub(crate) async fn tx_match_hits(conn: &mut $conn, keys: &[i64]) -> crate::Result<Vec<(i64, i64)>> {
            use sqlx::Row;
            let mut out = Vec::new();
            for chunk in keys.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("SELECT key, record_id FROM match_keys WHERE key IN (");
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                for r in b.build().fetch_all(&mut *conn).await? {
                    out.push((r.try_get(0)?, r.try_get(1)?));
                }
            }
            Ok(out)
        }

        /// Match records by record id, or by person.
        pub(crate) async fn tx_match_records(conn: &mut $conn, by_person: bool, ids: &[i64]) -> crate::Result<Vec<crate::MatchRecord>> {
            let mut out = Vec::new();
            let column = if by_person { "person_id" } else { "record_id" };
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> =
                    QueryBuilder::new(format!("SELECT record_id, person_id, demographics FROM match_records WHERE {column} IN ("));
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                for r in b.build().fetch_all(&mut *conn).await? {
                    out.push(match_record_from_row(&r)?);
                }
            }
            Ok(out)
        }

        /// Write match records (replacing their keys) and review items.
        pub(crate) async fn tx_write_index(conn: &mut $conn, records: &[crate::MatchRecordWrite], reviews: &[crate::NewReview]) -> crate::Result<()> {
            let ids: Vec<i64> = records.iter().filter(|w| w.replaces).map(|w| w.record.record).collect();
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("DELETE FROM match_keys WHERE record_id IN (");
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                b.build().execute(&mut *conn).await?;
            }
            for chunk in records.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO match_records (record_id, person_id, demographics) ");
                b.push_values(chunk, |mut row, w| {
                    row.push_bind(w.record.record).push_bind(w.record.person.0).push_bind(w.record.demographics.clone());
                });
                b.push(" ON CONFLICT (record_id) DO UPDATE SET person_id = excluded.person_id, demographics = excluded.demographics");
                b.build().execute(&mut *conn).await?;
            }
            let keys: Vec<(i64, i64)> = records.iter().flat_map(|w| w.keys.iter().map(move |k| (*k, w.record.record))).collect();
            for chunk in keys.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO match_keys (key, record_id) ");
                b.push_values(chunk, |mut row, (k, r)| {
                    row.push_bind(*k).push_bind(*r);
                });
                b.push(" ON CONFLICT (key, record_id) DO NOTHING");
                b.build().execute(&mut *conn).await?;
            }
            let now = tongdang_core::Timestamp::now().0;
            for chunk in reviews.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO mpi_reviews (record_id, person_id, candidate_person, weight, reason, status, created_at) ",
                );
                b.push_values(chunk, |mut row, r| {
                    row.push_bind(r.record)
                        .push_bind(r.person.0)
                        .push_bind(r.candidate.0)
                        .push_bind(r.weight)
                        .push_bind(r.reason.clone())
                        .push_bind("open")
                        .push_bind(now);
                });
                b.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Where a person is: active, merged (followed to the active survivor), or unknown.
        pub(crate) async fn person_status(pool: &sqlx::Pool<$db>, p: tongdang_core::PersonId) -> crate::Result<Option<crate::PersonStatus>> {
            let mut conn = pool.acquire().await?;
            Ok(walk(&mut conn, p).await?.map(|s| if s == p { crate::PersonStatus::Active } else { crate::PersonStatus::MergedInto(s) }))
        }

        /// `None` for an unknown person, else whom it was merged into (`Some(None)`: active).
        async fn merged_into(conn: &mut $conn, p: tongdang_core::PersonId) -> crate::Result<Option<Option<i64>>> {
            Ok(sqlx::query_scalar("SELECT merged_into FROM persons WHERE id = $1").bind(p.0).fetch_optional(&mut *conn).await?)
        }

        /// Follow merges from `p` to the active survivor; `None` for an unknown person.
        async fn walk(conn: &mut $conn, p: tongdang_core::PersonId) -> crate::Result<Option<tongdang_core::PersonId>> {
            let mut current = p;
            for _ in 0..32 {
                match merged_into(&mut *conn, current).await? {
                    None => return Ok(None),
                    Some(None) => return Ok(Some(current)),
                    Some(Some(next)) => current = tongdang_core::PersonId(next),
                }
            }
            Err(crate::StoreError::Corrupt(format!("merge chain of person {p} does not end")))
        }

        async fn records_of(conn: &mut $conn, person: tongdang_core::PersonId) -> crate::Result<Vec<i64>> {
            Ok(sqlx::query_scalar("SELECT id FROM patient_records WHERE person_id = $1 ORDER BY id").bind(person.0).fetch_all(&mut *conn).await?)
        }

        async fn active(conn: &mut $conn, person: tongdang_core::PersonId) -> crate::Result<()> {
            match merged_into(&mut *conn, person).await? {
                None => Err(crate::StoreError::NotFound(format!("person {person}"))),
                Some(Some(into)) => Err(crate::StoreError::Conflict(format!("person {person} was merged into {into}"))),
                Some(None) => Ok(()),
            }
        }

        /// Move patient records, their identifiers, source keys, match records and entries (with
        /// their history) to `to`. Entries are found through their old person (the timeline
        /// index) and the record their subject named; with `whole`, every entry of the old
        /// persons goes (a merge: also those stored before entries named their record).
        async fn move_records(conn: &mut $conn, records: &[i64], to: tongdang_core::PersonId, whole: bool) -> crate::Result<()> {
            if records.is_empty() {
                return Ok(());
            }
            let recs = crate::mpi::ids_to_text(records);
            let from: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT DISTINCT person_id FROM patient_records WHERE id IN ({recs})")))
                .fetch_all(&mut *conn)
                .await?;
            let from = crate::mpi::ids_to_text(&from);
            let to = to.0;
            let entries = if whole {
                format!("entries WHERE person_id IN ({from})")
            } else {
                format!("entries WHERE person_id IN ({from}) AND patient_record IN ({recs})")
            };
            let patients = format!("(SELECT institution, source_id FROM patient_records WHERE id IN ({recs}))");
            // Only integers are formatted into these statements.
            let statements = [
                format!("UPDATE source_keys SET person_id = {to} WHERE (institution, resource_type, source_id) IN (SELECT institution, resource_type, source_id FROM {entries})"),
                // The person first: entry_history's key starts with it (no scan of the table).
                format!("UPDATE entry_history SET person_id = {to} WHERE person_id IN ({from}) AND entry_id IN (SELECT id FROM {entries})"),
                format!("UPDATE {entries}").replacen("entries WHERE", &format!("entries SET person_id = {to} WHERE"), 1),
                format!("UPDATE person_identifiers SET person_id = {to} WHERE (institution, source_id) IN {patients}"),
                format!("UPDATE source_keys SET person_id = {to} WHERE resource_type = 'Patient' AND (institution, source_id) IN {patients}"),
                format!("UPDATE patient_records SET person_id = {to} WHERE id IN ({recs})"),
                format!("UPDATE match_records SET person_id = {to} WHERE record_id IN ({recs})"),
            ];
            for statement in statements {
                sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await?;
            }
            Ok(())
        }

        async fn record_event(
            conn: &mut $conn,
            kind: &str,
            person: tongdang_core::PersonId,
            other: Option<tongdang_core::PersonId>,
            records: &[i64],
            actor: &str,
            reason: &str,
        ) -> crate::Result<crate::MpiEvent> {
            let at = tongdang_core::Timestamp::now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO mpi_events (kind, person_id, other_person, records, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(kind)
            .bind(person.0)
            .bind(other.map(|p| p.0))
            .bind(crate::mpi::ids_to_text(records))
            .bind(actor)
            .bind(reason)
            .bind(at.0)
            .fetch_one(&mut *conn)
            .await?;
            Ok(crate::MpiEvent {
                id,
                kind: kind.to_string(),
                person,
                other,
                records: records.to_vec(),
                actor: actor.to_string(),
                reason: reason.to_string(),
                at,
                undone_by: None,
            })
        }

        async fn record_person(conn: &mut $conn, record: i64) -> crate::Result<tongdang_core::PersonId> {
            let p: Option<i64> = sqlx::query_scalar("SELECT person_id FROM patient_records WHERE id = $1").bind(record).fetch_optional(&mut *conn).await?;
            p.map(tongdang_core::PersonId).ok_or_else(|| crate::StoreError::NotFound(format!("patient record {record}")))
        }

        /// A person left with no records redirects to where its last record went.
        async fn retire_if_empty(conn: &mut $conn, person: tongdang_core::PersonId, to: tongdang_core::PersonId) -> crate::Result<()> {
            if records_of(&mut *conn, person).await?.is_empty() {
                sqlx::query("UPDATE persons SET merged_into = $1 WHERE id = $2").bind(to.0).bind(person.0).execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Apply an operator's change inside the caller's transaction. `new_person` is the id
        /// allocated for an unlink.
        pub(crate) async fn tx_relink(
            conn: &mut $conn,
            op: &crate::RelinkOp,
            new_person: Option<tongdang_core::PersonId>,
            actor: &str,
            reason: &str,
            kind_override: Option<&str>,
        ) -> crate::Result<crate::MpiEvent> {
            use crate::RelinkOp;
            match op {
                RelinkOp::Link { record, person } => {
                    active(&mut *conn, *person).await?;
                    let from = record_person(&mut *conn, *record).await?;
                    if from == *person {
                        return Err(crate::StoreError::Conflict(format!("patient record {record} already belongs to person {person}")));
                    }
                    move_records(&mut *conn, &[*record], *person, false).await?;
                    retire_if_empty(&mut *conn, from, *person).await?;
                    record_event(&mut *conn, kind_override.unwrap_or("link"), *person, Some(from), &[*record], actor, reason).await
                }
                RelinkOp::Unlink { record } => {
                    let from = record_person(&mut *conn, *record).await?;
                    if records_of(&mut *conn, from).await?.len() < 2 {
                        return Err(crate::StoreError::Conflict(format!("patient record {record} is the only record of person {from}")));
                    }
                    // The record came here by a link that emptied its person: that person comes
                    // back, so a hospital still holding its id reads it again, not a stranger.
                    let earlier: Option<Option<i64>> = sqlx::query_scalar(
                        "SELECT other_person FROM mpi_events WHERE kind = 'link' AND person_id = $1 AND records = $2 ORDER BY id DESC LIMIT 1",
                    )
                    .bind(from.0)
                    .bind(record.to_string())
                    .fetch_optional(&mut *conn)
                    .await?;
                    let retired = match earlier.flatten().map(tongdang_core::PersonId) {
                        Some(p) => {
                            (merged_into(&mut *conn, p).await? == Some(Some(from.0)) && records_of(&mut *conn, p).await?.is_empty()).then_some(p)
                        }
                        None => None,
                    };
                    let to = match retired {
                        Some(p) => {
                            sqlx::query("UPDATE persons SET merged_into = NULL WHERE id = $1").bind(p.0).execute(&mut *conn).await?;
                            p
                        }
                        None => {
                            let to = new_person.ok_or_else(|| crate::StoreError::Corrupt("unlink without a new person id".into()))?;
                            sqlx::query("INSERT INTO persons (id, created_at) VALUES ($1, $2)").bind(to.0).bind(tongdang_core::Timestamp::now().0).execute(&mut *conn).await?;
                            to
                        }
                    };
                    move_records(&mut *conn, &[*record], to, false).await?;
                    record_event(&mut *conn, "unlink", to, Some(from), &[*record], actor, reason).await
                }
                RelinkOp::Merge { from, into } => {
                    if from == into {
                        return Err(crate::StoreError::Conflict(format!("person {from} cannot be merged into itself")));
                    }
                    active(&mut *conn, *from).await?;
                    active(&mut *conn, *into).await?;
                    let records = records_of(&mut *conn, *from).await?;
                    move_records(&mut *conn, &records, *into, true).await?;
                    sqlx::query("UPDATE persons SET merged_into = $1 WHERE id = $2").bind(into.0).bind(from.0).execute(&mut *conn).await?;
                    record_event(&mut *conn, kind_override.unwrap_or("merge"), *into, Some(*from), &records, actor, reason).await
                }
                RelinkOp::Unmerge { event } => {
                    use sqlx::Row;
                    let row = sqlx::query("SELECT kind, person_id, other_person, records, undone_by FROM mpi_events WHERE id = $1")
                        .bind(*event)
                        .fetch_optional(&mut *conn)
                        .await?
                        .ok_or_else(|| crate::StoreError::NotFound(format!("event {event}")))?;
                    let kind: String = row.try_get(0)?;
                    let into = tongdang_core::PersonId(row.try_get(1)?);
                    let from: Option<i64> = row.try_get(2)?;
                    let records = crate::mpi::ids_from_text(&row.try_get::<String, _>(3)?);
                    let undone: Option<i64> = row.try_get(4)?;
                    if !kind.ends_with("merge") || kind == "unmerge" {
                        return Err(crate::StoreError::Conflict(format!("event {event} is a {kind}, not a merge")));
                    }
                    if let Some(u) = undone {
                        return Err(crate::StoreError::Conflict(format!("event {event} was already undone by event {u}")));
                    }
                    let from = tongdang_core::PersonId(from.ok_or_else(|| crate::StoreError::Corrupt(format!("merge event {event} has no merged person")))?);
                    // Merges are undone last first: the survivor must still be active, and the
                    // merged person still merged into it.
                    if let Some(Some(later)) = merged_into(&mut *conn, into).await? {
                        return Err(crate::StoreError::Conflict(format!("person {into} was merged into {later} since; undo that merge first")));
                    }
                    if merged_into(&mut *conn, from).await? != Some(Some(into.0)) {
                        return Err(crate::StoreError::Conflict(format!("person {from} is no longer merged into {into}")));
                    }
                    sqlx::query("UPDATE persons SET merged_into = NULL WHERE id = $1").bind(from.0).execute(&mut *conn).await?;
                    // Only the records still with the survivor go back; a record linked elsewhere
                    // since stays where an operator put it.
                    let mut b: QueryBuilder<$db> = QueryBuilder::new("SELECT id FROM patient_records WHERE person_id = ");
                    b.push_bind(into.0).push(" AND id IN (");
                    crate::shared::push_ids(&mut b, &records);
                    b.push(")");
                    let still: Vec<i64> = if records.is_empty() { Vec::new() } else { b.build_query_scalar().fetch_all(&mut *conn).await? };
                    move_records(&mut *conn, &still, from, false).await?;
                    let ev = record_event(&mut *conn, "unmerge", from, Some(into), &still, actor, reason).await?;
                    sqlx::query("UPDATE mpi_events SET undone_by = $1 WHERE id = $2").bind(ev.id).bind(*event).execute(&mut *conn).await?;
                    Ok(ev)
                }
            }
        }

        fn event_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::MpiEvent> {
            use sqlx::Row;
            Ok(crate::MpiEvent {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                person: tongdang_core::PersonId(r.try_get(2)?),
                other: r.try_get::<Option<i64>, _>(3)?.map(tongdang_core::PersonId),
                records: crate::mpi::ids_from_text(&r.try_get::<String, _>(4)?),
                actor: r.try_get(5)?,
                reason: r.try_get(6)?,
                at: tongdang_core::Timestamp(r.try_get(7)?),
                undone_by: r.try_get(8)?,
            })
        }

        /// The index history of a person (as survivor or as merged/unlinked party), oldest first.
        pub(crate) async fn mpi_events(pool: &sqlx::Pool<$db>, p: tongdang_core::PersonId) -> crate::Result<Vec<crate::MpiEvent>> {
            let rows = sqlx::query(
                "SELECT id, kind, person_id, other_person, records, actor, reason, at, undone_by FROM mpi_events WHERE person_id = $1 OR other_person = $1 ORDER BY id",
            )
            .bind(p.0)
            .fetch_all(pool)
            .await?;
            rows.iter().map(event_from_row).collect()
        }

        fn review_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::ReviewItem> {
            use sqlx::Row;
            Ok(crate::ReviewItem {
                id: r.try_get(0)?,
                review: crate::NewReview {
                    record: r.try_get(1)?,
                    person: tongdang_core::PersonId(r.try_get(2)?),
                    candidate: tongdang_core::PersonId(r.try_get(3)?),
                    weight: r.try_get(4)?,
                    reason: r.try_get(5)?,
                },
                status: r.try_get(6)?,
                created_at: tongdang_core::Timestamp(r.try_get(7)?),
                decided_at: r.try_get::<Option<i64>, _>(8)?.map(tongdang_core::Timestamp),
                decided_by: r.try_get(9)?,
                note: r.try_get(10)?,
            })
        }

        const REVIEW_COLUMNS: &str = "id, record_id, person_id, candidate_person, weight, reason, status, created_at, decided_at, decided_by, note";

        /// Review items in id order after `after`, optionally of one status.
        pub(crate) async fn reviews(pool: &sqlx::Pool<$db>, status: Option<&str>, after: i64, limit: u32) -> crate::Result<Vec<crate::ReviewItem>> {
            let mut b: QueryBuilder<$db> = QueryBuilder::new(format!("SELECT {REVIEW_COLUMNS} FROM mpi_reviews WHERE id > "));
            b.push_bind(after);
            if let Some(s) = status {
                b.push(" AND status = ").push_bind(s.to_string());
            }
            b.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
            let rows = b.build().fetch_all(pool).await?;
            rows.iter().map(review_from_row).collect()
        }

        /// Decide an open review item inside the caller's transaction: `link` moves the record to
        /// the candidate person (the record's own person, if left empty, redirects there).
        pub(crate) async fn tx_decide_review(
            conn: &mut $conn,
            id: i64,
            link: bool,
            actor: &str,
            note: &str,
        ) -> crate::Result<(crate::ReviewItem, Option<crate::MpiEvent>)> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REVIEW_COLUMNS} FROM mpi_reviews WHERE id = $1")))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| crate::StoreError::NotFound(format!("review {id}")))?;
            let item = review_from_row(&row)?;
            if item.status != "open" {
                return Err(crate::StoreError::Conflict(format!("review {id} was already decided ({})", item.status)));
            }
            // "Same person" merges the two persons (undoable): a possible duplicate into the
            // record's person, otherwise the person made for the record (with whatever joined it
            // since) into the candidate.
            let event = if link {
                let current: Option<i64> = sqlx::query_scalar("SELECT person_id FROM patient_records WHERE id = $1").bind(item.review.record).fetch_optional(&mut *conn).await?;
                let current = tongdang_core::PersonId(current.ok_or_else(|| crate::StoreError::NotFound(format!("patient record {}", item.review.record)))?);
                let candidate = survivor_of(&mut *conn, item.review.candidate).await?;
                if current == candidate {
                    return Err(crate::StoreError::Conflict(format!("patient record {} already belongs to person {candidate}", item.review.record)));
                }
                let op = if item.review.reason == "possible-duplicate" {
                    crate::RelinkOp::Merge { from: candidate, into: current }
                } else {
                    crate::RelinkOp::Merge { from: current, into: candidate }
                };
                Some(tx_relink(&mut *conn, &op, None, actor, note, Some("review-merge")).await?)
            } else {
                None
            };
            let status = if link { "linked" } else { "distinct" };
            let now = tongdang_core::Timestamp::now();
            sqlx::query("UPDATE mpi_reviews SET status = $1, decided_at = $2, decided_by = $3, note = $4 WHERE id = $5")
                .bind(status)
                .bind(now.0)
                .bind(actor)
                .bind(note)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            // Other open items about the same record are settled by a link.
            if link {
                sqlx::query("UPDATE mpi_reviews SET status = 'superseded', decided_at = $1, decided_by = $2 WHERE record_id = $3 AND status = 'open'")
                    .bind(now.0)
                    .bind(actor)
                    .bind(item.review.record)
                    .execute(&mut *conn)
                    .await?;
            }
            let item = crate::ReviewItem { status: status.to_string(), decided_at: Some(now), decided_by: Some(actor.to_string()), note: Some(note.to_string()), ..item };
            Ok((item, event))
        }

        /// The active person an id stands for (following merges).
        async fn survivor_of(conn: &mut $conn, p: tongdang_core::PersonId) -> crate::Result<tongdang_core::PersonId> {
            walk(&mut *conn, p).await?.ok_or_else(|| crate::StoreError::NotFound(format!("person {p}")))
        }

        /// Persons as their active survivors (`(asked, active)`), for holders of identifiers
        /// written before a merge moved them.
        pub(crate) async fn tx_survivors(conn: &mut $conn, persons: &[tongdang_core::PersonId]) -> crate::Result<Vec<(tongdang_core::PersonId, tongdang_core::PersonId)>> {
            let mut merged = Vec::new();
            let ids: Vec<i64> = persons.iter().map(|p| p.0).collect();
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("SELECT id FROM persons WHERE merged_into IS NOT NULL AND id IN (");
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                merged.extend(b.build_query_scalar::<i64>().fetch_all(&mut *conn).await?);
            }
            let mut out = Vec::with_capacity(merged.len());
            for p in merged {
                let p = tongdang_core::PersonId(p);
                out.push((p, survivor_of(&mut *conn, p).await?));
            }
            Ok(out)
        }

        /// After re-indexing outside ingest: each match record takes its record's person as it
        /// is now (a merge may have run meanwhile).
        pub(crate) async fn tx_refresh_match_persons(conn: &mut $conn, records: &[i64]) -> crate::Result<()> {
            for chunk in records.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new(
                    "UPDATE match_records SET person_id = (SELECT p.person_id FROM patient_records p WHERE p.id = match_records.record_id) WHERE record_id IN (",
                );
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                b.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Source records and their persons, in record id order after `after`.
        pub(crate) async fn links(pool: &sqlx::Pool<$db>, after: i64, limit: u32) -> crate::Result<Vec<crate::LinkRow>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT id, institution, source_id, person_id FROM patient_records WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::LinkRow {
                        record: r.try_get(0)?,
                        institution: r.try_get(1)?,
                        source_id: r.try_get(2)?,
                        person: tongdang_core::PersonId(r.try_get(3)?),
                    })
                })
                .collect()
        }

        /// Headline figures of the index.
        pub(crate) async fn mpi_counts(pool: &sqlx::Pool<$db>) -> crate::Result<crate::MpiCounts> {
            let persons: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM persons WHERE merged_into IS NULL").fetch_one(pool).await?;
            let merged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM persons WHERE merged_into IS NOT NULL").fetch_one(pool).await?;
            let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patient_records").fetch_one(pool).await?;
            let open_reviews: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mpi_reviews WHERE status = 'open'").fetch_one(pool).await?;
            Ok(crate::MpiCounts { persons, merged, records, open_reviews })
        }

        /// Match records in record id order after `after`.
        pub(crate) async fn match_records_page(pool: &sqlx::Pool<$db>, after: i64, limit: u32) -> crate::Result<Vec<crate::MatchRecord>> {
            let rows = sqlx::query("SELECT record_id, person_id, demographics FROM match_records WHERE record_id > $1 ORDER BY record_id LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(match_record_from_row).collect()
        }

        /// Match records holding every one of `keys` (search), at most `limit`.
        pub(crate) async fn match_records_with_keys(pool: &sqlx::Pool<$db>, keys: &[i64], limit: u32) -> crate::Result<Vec<crate::MatchRecord>> {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut b: QueryBuilder<$db> =
                QueryBuilder::new("SELECT r.record_id, r.person_id, r.demographics FROM match_records r WHERE r.record_id IN (SELECT record_id FROM match_keys WHERE key = ");
            b.push_bind(keys[0]).push(")");
            for k in &keys[1..] {
                b.push(" AND r.record_id IN (SELECT record_id FROM match_keys WHERE key = ").push_bind(*k).push(")");
            }
            b.push(" ORDER BY r.person_id, r.record_id LIMIT ").push_bind(i64::from(limit));
            let rows = b.build().fetch_all(pool).await?;
            rows.iter().map(match_record_from_row).collect()
        }

        /// Match records of some persons.
        pub(crate) async fn match_records_of(pool: &sqlx::Pool<$db>, persons: &[tongdang_core::PersonId]) -> crate::Result<Vec<crate::MatchRecord>> {
            let mut conn = pool.acquire().await?;
            let ids: Vec<i64> = persons.iter().map(|p| p.0).collect();
            tx_match_records(&mut conn, true, &ids).await
        }

        /// The latest matching parameters (JSON), if any were saved.
        pub(crate) async fn match_parameters(pool: &sqlx::Pool<$db>) -> crate::Result<Option<String>> {
            Ok(sqlx::query_scalar("SELECT parameters FROM match_parameters ORDER BY id DESC LIMIT 1").fetch_optional(pool).await?)
        }

        /// Save new matching parameters (JSON).
        pub(crate) async fn save_match_parameters(pool: &sqlx::Pool<$db>, json: &str) -> crate::Result<()> {
            sqlx::query("INSERT INTO match_parameters (created_at, parameters) VALUES ($1, $2)")
                .bind(tongdang_core::Timestamp::now().0)
                .bind(json)
                .execute(pool)
                .await?;
            Ok(())
        }
    };
}

pub(crate) use mpi_sql;
