//! SQL that reads and writes the same way on both dialects, written once. SQLite accepts the
//! `$n` placeholders PostgreSQL uses; where the dialects differ (conflict targets, id
//! allocation, locking) the dialect modules pass or implement their own part.

use crate::StoreError;
use crate::model::*;
use sqlx::Row;
use tongdang_core::{
    Category, City, ConnectionMode, EntryId, Institution, InstitutionCode, InstitutionKind, Level, Ownership, PersonId, Scope,
    Timestamp,
};

/// Columns of `entries` in the order [`entry_from_row`] reads them.
pub(crate) const ENTRY_COLUMNS: &str = "id, person_id, category, resource_type, sort_time, clinical_time, collected_at, institution, source_id, version, status, codes, digest, submission_id, resource, category_codes, patient_record";

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters with 16 columns.
pub(crate) const ROWS_PER_INSERT: usize = 1000;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn entry_from_row<R: Row>(row: &R) -> Result<EntryRecord, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i16: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let category: i16 = row.try_get(2)?;
    Ok(EntryRecord {
        id: EntryId(row.try_get(0)?),
        person: PersonId(row.try_get(1)?),
        category: Category::from_i16(category).ok_or_else(|| corrupt("entry category"))?,
        resource_type: row.try_get(3)?,
        sort_time: Timestamp(row.try_get(4)?),
        clinical_time: row.try_get(5)?,
        collected_at: Timestamp(row.try_get(6)?),
        institution: row.try_get(7)?,
        source_id: row.try_get(8)?,
        version: row.try_get(9)?,
        status: EntryStatus::from_i16(row.try_get(10)?),
        codes: row.try_get(11)?,
        digest: row.try_get(12)?,
        submission: row.try_get(13)?,
        resource: row.try_get(14)?,
        category_codes: row.try_get(15)?,
        patient_record: row.try_get(16)?,
    })
}

pub(crate) fn institution_from_row<R: Row>(row: &R) -> Result<Institution, StoreError>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let text = |i: usize| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(i)?) };
    Ok(Institution {
        code: InstitutionCode::new(&text(0)?).map_err(|_| corrupt("institution code"))?,
        name: text(1)?,
        city: text(2)?.parse::<City>().map_err(|_| corrupt("institution city"))?,
        level: text(3)?.parse::<Level>().map_err(|_| corrupt("institution level"))?,
        ownership: text(4)?.parse::<Ownership>().map_err(|_| corrupt("institution ownership"))?,
        kind: text(5)?.parse::<InstitutionKind>().map_err(|_| corrupt("institution kind"))?,
        connection: text(6)?.parse::<ConnectionMode>().map_err(|_| corrupt("institution connection"))?,
    })
}

pub(crate) fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.code()).collect::<Vec<_>>().join(" ")
}

pub(crate) fn scopes_from_text(text: &str) -> Result<Vec<Scope>, StoreError> {
    text.split_whitespace().map(|s| s.parse::<Scope>().map_err(|_| corrupt("key scope"))).collect()
}

/// Append `$a, $b, …` binding `ids`: the body of an `IN (…)` list.
pub(crate) fn push_ids<DB: sqlx::Database>(b: &mut sqlx::QueryBuilder<DB>, ids: &[i64])
where
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut sep = b.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
}

/// A bound parameter of dialect-neutral SQL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlParam {
    Int(i64),
    Text(String),
}

/// The SQL of an entry query, with `$n` placeholders each used once in increasing order (so
/// SQLite, which reads `$1` as a named parameter, binds them by position too).
pub(crate) fn entries_sql(q: &EntryQuery) -> (String, Vec<SqlParam>) {
    let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE 1 = 1");
    let mut params = Vec::new();
    let mut bind = |sql: &mut String, p: SqlParam| {
        params.push(p);
        sql.push_str(&format!("${}", params.len()));
    };
    if let Some(p) = q.person {
        sql.push_str(" AND person_id = ");
        bind(&mut sql, SqlParam::Int(p.0));
    }
    if !q.include_withdrawn {
        sql.push_str(" AND status = 0");
    }
    match &q.categories {
        None => {}
        Some(categories) if categories.is_empty() => sql.push_str(" AND 1 = 0"),
        Some(categories) => {
            sql.push_str(" AND category IN (");
            for (i, c) in categories.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                bind(&mut sql, SqlParam::Int(i64::from(c.as_i16())));
            }
            sql.push(')');
        }
    }
    if let Some(rt) = &q.resource_type {
        sql.push_str(" AND resource_type = ");
        bind(&mut sql, SqlParam::Text(rt.clone()));
    }
    for (column, op, t) in [
        ("sort_time", ">=", q.from),
        ("sort_time", "<", q.to),
        ("collected_at", ">=", q.updated_from),
        ("collected_at", "<", q.updated_to),
    ] {
        if let Some(t) = t {
            sql.push_str(&format!(" AND {column} {op} "));
            bind(&mut sql, SqlParam::Int(t.0));
        }
    }
    for (column, groups) in [("codes", &q.code_patterns), ("category_codes", &q.category_patterns)] {
        for group in groups.iter().filter(|g| !g.is_empty()) {
            sql.push_str(" AND (");
            for (i, p) in group.iter().enumerate() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!("{column} LIKE "));
                bind(&mut sql, SqlParam::Text(p.clone()));
                sql.push_str(" ESCAPE '\\'");
            }
            sql.push(')');
        }
    }
    if let Some((t, id)) = q.after {
        sql.push_str(" AND (sort_time < ");
        bind(&mut sql, SqlParam::Int(t.0));
        sql.push_str(" OR (sort_time = ");
        bind(&mut sql, SqlParam::Int(t.0));
        sql.push_str(" AND id < ");
        bind(&mut sql, SqlParam::Int(id.0));
        sql.push_str("))");
    }
    sql.push_str(" ORDER BY sort_time DESC, id DESC LIMIT ");
    bind(&mut sql, SqlParam::Int(i64::from(q.limit)));
    (sql, params)
}

/// Generates the parts of a store that are the same SQL on both dialects. `$conflict_patients`
/// is the conflict target of `patient_records`' primary key. The expanding module provides
/// `insert_entries`, `insert_source_keys` and `tx_source_keys`, each its dialect's fastest way.
macro_rules! shared_sql {
    ($db:ty, $conn:ty, $conflict_patients:literal) => {
        use crate::shared::*;
        use sqlx::QueryBuilder;

        pub(crate) async fn upsert_institution(pool: &sqlx::Pool<$db>, i: &tongdang_core::Institution) -> crate::Result<()> {
            sqlx::query(
                "INSERT INTO institutions (code, name, city, level, ownership, kind, connection, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, city = excluded.city, level = excluded.level,
                 ownership = excluded.ownership, kind = excluded.kind, connection = excluded.connection",
            )
            .bind(i.code.as_str())
            .bind(&i.name)
            .bind(i.city.code())
            .bind(i.level.code())
            .bind(i.ownership.code())
            .bind(i.kind.code())
            .bind(i.connection.code())
            .bind(tongdang_core::Timestamp::now().0)
            .execute(pool)
            .await?;
            Ok(())
        }

        const INSTITUTION_COLUMNS: &str = "SELECT code, name, city, level, ownership, kind, connection FROM institutions";

        pub(crate) async fn institution(pool: &sqlx::Pool<$db>, code: &tongdang_core::InstitutionCode) -> crate::Result<Option<tongdang_core::Institution>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("{INSTITUTION_COLUMNS} WHERE code = $1"))).bind(code.as_str()).fetch_optional(pool).await?;
            row.as_ref().map(institution_from_row).transpose()
        }

        pub(crate) async fn institutions(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<tongdang_core::Institution>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{INSTITUTION_COLUMNS} ORDER BY code"))).fetch_all(pool).await?;
            rows.iter().map(institution_from_row).collect()
        }

        pub(crate) async fn insert_api_key(pool: &sqlx::Pool<$db>, key: &crate::ApiKeyRecord, revoke_others: bool) -> crate::Result<()> {
            let mut tx = pool.begin().await?;
            if revoke_others {
                sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE institution = $2 AND revoked_at IS NULL")
                    .bind(key.created_at.0)
                    .bind(&key.institution)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO api_keys (key_hash, prefix, institution, scopes, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, NULL)")
                .bind(&key.hash)
                .bind(&key.prefix)
                .bind(&key.institution)
                .bind(scopes_to_text(&key.scopes))
                .bind(key.created_at.0)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn api_key(pool: &sqlx::Pool<$db>, hash: &[u8]) -> crate::Result<Option<crate::ApiKeyRecord>> {
            let row = sqlx::query("SELECT key_hash, prefix, institution, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = $1")
                .bind(hash)
                .fetch_optional(pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            use sqlx::Row;
            Ok(Some(crate::ApiKeyRecord {
                hash: row.try_get(0)?,
                prefix: row.try_get(1)?,
                institution: row.try_get(2)?,
                scopes: scopes_from_text(&row.try_get::<String, _>(3)?)?,
                created_at: tongdang_core::Timestamp(row.try_get(4)?),
                revoked_at: row.try_get::<Option<i64>, _>(5)?.map(tongdang_core::Timestamp),
            }))
        }

        pub(crate) async fn record_submission(pool: &sqlx::Pool<$db>, s: &crate::SubmissionRecord) -> crate::Result<()> {
            sqlx::query(
                "INSERT INTO submissions (id, institution, channel, received_at, read_count, stored, unchanged, refused, via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET read_count = excluded.read_count, stored = excluded.stored, unchanged = excluded.unchanged, refused = excluded.refused",
            )
            .bind(s.id)
            .bind(&s.institution)
            .bind(&s.channel)
            .bind(s.received_at.0)
            .bind(s.read)
            .bind(s.stored)
            .bind(s.unchanged)
            .bind(s.refused)
            .bind(&s.via)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(crate) async fn submission(pool: &sqlx::Pool<$db>, id: i64) -> crate::Result<Option<crate::SubmissionRecord>> {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT id, institution, channel, received_at, read_count, stored, unchanged, refused, via FROM submissions WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.map(|r| {
                Ok(crate::SubmissionRecord {
                    id: r.try_get(0)?,
                    institution: r.try_get(1)?,
                    channel: r.try_get(2)?,
                    received_at: tongdang_core::Timestamp(r.try_get(3)?),
                    read: r.try_get(4)?,
                    stored: r.try_get(5)?,
                    unchanged: r.try_get(6)?,
                    refused: r.try_get(7)?,
                    via: r.try_get(8)?,
                })
            })
            .transpose()
        }

        pub(crate) async fn entry(pool: &sqlx::Pool<$db>, id: tongdang_core::EntryId) -> crate::Result<Option<crate::EntryRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE id = $1"))).bind(id.0).fetch_optional(pool).await?;
            row.as_ref().map(entry_from_row).transpose()
        }

        pub(crate) async fn person_exists(pool: &sqlx::Pool<$db>, p: tongdang_core::PersonId) -> crate::Result<bool> {
            let row = sqlx::query("SELECT 1 FROM persons WHERE id = $1").bind(p.0).fetch_optional(pool).await?;
            Ok(row.is_some())
        }

        pub(crate) async fn persons(pool: &sqlx::Pool<$db>, after: Option<tongdang_core::PersonId>, limit: u32) -> crate::Result<Vec<tongdang_core::PersonId>> {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE id > $1 AND merged_into IS NULL ORDER BY id LIMIT $2")
                .bind(after.map_or(0, |p| p.0))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            Ok(ids.into_iter().map(tongdang_core::PersonId).collect())
        }

        pub(crate) async fn patient_records(pool: &sqlx::Pool<$db>, p: tongdang_core::PersonId) -> crate::Result<Vec<crate::PatientRecord>> {
            let rows = sqlx::query("SELECT id, person_id, institution, source_id, version, collected_at, resource FROM patient_records WHERE person_id = $1 ORDER BY collected_at DESC, id DESC")
                .bind(p.0)
                .fetch_all(pool)
                .await?;
            rows.iter().map(patient_record_from_row).collect()
        }

        fn patient_record_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::PatientRecord> {
            use sqlx::Row;
            Ok(crate::PatientRecord {
                id: r.try_get(0)?,
                person: tongdang_core::PersonId(r.try_get(1)?),
                institution: r.try_get(2)?,
                source_id: r.try_get(3)?,
                version: r.try_get(4)?,
                collected_at: tongdang_core::Timestamp(r.try_get(5)?),
                resource: r.try_get(6)?,
            })
        }

        /// Patient records in id order after `after` (re-indexing).
        pub(crate) async fn patient_records_page(pool: &sqlx::Pool<$db>, after: i64, limit: u32) -> crate::Result<Vec<crate::PatientRecord>> {
            let rows = sqlx::query("SELECT id, person_id, institution, source_id, version, collected_at, resource FROM patient_records WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(patient_record_from_row).collect()
        }

        pub(crate) async fn person_identifiers(pool: &sqlx::Pool<$db>, p: tongdang_core::PersonId) -> crate::Result<Vec<crate::PersonIdentifier>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT system, value, person_id, institution, source_id, sealed FROM person_identifiers WHERE person_id = $1 ORDER BY system, value")
                .bind(p.0)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::PersonIdentifier {
                        system: r.try_get(0)?,
                        value: r.try_get(1)?,
                        person: tongdang_core::PersonId(r.try_get(2)?),
                        institution: r.try_get(3)?,
                        source_id: r.try_get(4)?,
                        sealed: r.try_get(5)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn persons_by_identifier(pool: &sqlx::Pool<$db>, system: Option<&str>, value: &str) -> crate::Result<Vec<tongdang_core::PersonId>> {
            let ids: Vec<i64> = match system {
                Some(s) => {
                    sqlx::query_scalar("SELECT DISTINCT person_id FROM person_identifiers WHERE system = $1 AND value = $2 ORDER BY person_id")
                        .bind(s)
                        .bind(value)
                        .fetch_all(pool)
                        .await?
                }
                None => sqlx::query_scalar("SELECT DISTINCT person_id FROM person_identifiers WHERE value = $1 ORDER BY person_id").bind(value).fetch_all(pool).await?,
            };
            Ok(ids.into_iter().map(tongdang_core::PersonId).collect())
        }

        fn directory_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::DirectoryRecord> {
            use sqlx::Row;
            Ok(crate::DirectoryRecord {
                id: r.try_get(0)?,
                resource_type: r.try_get(1)?,
                institution: r.try_get(2)?,
                source_id: r.try_get(3)?,
                version: r.try_get(4)?,
                collected_at: tongdang_core::Timestamp(r.try_get(5)?),
                resource: r.try_get(6)?,
            })
        }

        const DIRECTORY_COLUMNS: &str = "SELECT id, resource_type, institution, source_id, version, collected_at, resource FROM directory_resources";

        pub(crate) async fn directory_resource(pool: &sqlx::Pool<$db>, resource_type: &str, id: i64) -> crate::Result<Option<crate::DirectoryRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("{DIRECTORY_COLUMNS} WHERE id = $1 AND resource_type = $2")))
                .bind(id)
                .bind(resource_type)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(directory_from_row).transpose()
        }

        pub(crate) async fn directory_resources(pool: &sqlx::Pool<$db>, ids: &[i64]) -> crate::Result<Vec<crate::DirectoryRecord>> {
            let mut out = Vec::new();
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new(format!("{DIRECTORY_COLUMNS} WHERE id IN ("));
                crate::shared::push_ids(&mut b, chunk);
                b.push(") ORDER BY id");
                for r in b.build().fetch_all(pool).await? {
                    out.push(directory_from_row(&r)?);
                }
            }
            Ok(out)
        }

        pub(crate) async fn counts(pool: &sqlx::Pool<$db>) -> crate::Result<crate::Counts> {
            let institutions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM institutions").fetch_one(pool).await?;
            let persons: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM persons WHERE merged_into IS NULL").fetch_one(pool).await?;
            let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entries").fetch_one(pool).await?;
            Ok(crate::Counts { institutions, persons, entries })
        }

        pub(crate) async fn tx_source_ids_by_identifier(
            conn: &mut $conn,
            institution: &str,
            lookups: &[crate::IdentifierLookup],
        ) -> crate::Result<std::collections::HashMap<crate::IdentifierLookup, String>> {
            let mut out = std::collections::HashMap::new();
            for (rt, system, value) in lookups {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT source_id FROM source_identifiers WHERE institution = $1 AND resource_type = $2 AND system = $3 AND value = $4 ORDER BY source_id LIMIT 2",
                )
                .bind(institution)
                .bind(rt)
                .bind(system)
                .bind(value)
                .fetch_all(&mut *conn)
                .await?;
                // Ambiguous identifiers resolve to nothing rather than to a guess.
                if ids.len() == 1 {
                    out.insert((rt.clone(), system.clone(), value.clone()), ids[0].clone());
                }
            }
            Ok(out)
        }

        pub(crate) async fn tx_write(conn: &mut $conn, set: &crate::WriteSet) -> crate::Result<()> {
            for chunk in set.new_persons.chunks(ROWS_PER_INSERT) {
                let now = tongdang_core::Timestamp::now().0;
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO persons (id, created_at) ");
                b.push_values(chunk, |mut row, p| {
                    row.push_bind(p.0).push_bind(now);
                });
                b.build().execute(&mut *conn).await?;
            }
            // A corrected Patient or directory resource carries its identifiers anew: the old
            // ones go, so a mistyped ID number stops linking once the source fixes it.
            for (institution, resource_type, source_id) in &set.replaced_identifiers {
                if resource_type == "Patient" {
                    sqlx::query("DELETE FROM person_identifiers WHERE institution = $1 AND source_id = $2")
                        .bind(institution)
                        .bind(source_id)
                        .execute(&mut *conn)
                        .await?;
                }
                sqlx::query("DELETE FROM source_identifiers WHERE institution = $1 AND resource_type = $2 AND source_id = $3")
                    .bind(institution)
                    .bind(resource_type)
                    .bind(source_id)
                    .execute(&mut *conn)
                    .await?;
            }
            for chunk in set.person_identifiers.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO person_identifiers (system, value, person_id, institution, source_id, sealed) ");
                b.push_values(chunk, |mut row, i| {
                    row.push_bind(i.system.clone())
                        .push_bind(i.value.clone())
                        .push_bind(i.person.0)
                        .push_bind(i.institution.clone())
                        .push_bind(i.source_id.clone())
                        .push_bind(i.sealed.clone());
                });
                b.push(" ON CONFLICT (system, value, person_id, institution, source_id) DO NOTHING");
                b.build().execute(&mut *conn).await?;
            }
            insert_source_keys(&mut *conn, &set.source_keys).await?;
            for chunk in set.source_identifiers.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO source_identifiers (institution, resource_type, system, value, source_id) ");
                b.push_values(chunk, |mut row, i| {
                    row.push_bind(i.institution.clone()).push_bind(i.resource_type.clone()).push_bind(i.system.clone()).push_bind(i.value.clone()).push_bind(i.source_id.clone());
                });
                b.push(" ON CONFLICT (institution, resource_type, system, value, source_id) DO NOTHING");
                b.build().execute(&mut *conn).await?;
            }
            for chunk in set.patients.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> =
                    QueryBuilder::new("INSERT INTO patient_records (id, person_id, institution, source_id, version, collected_at, resource) ");
                b.push_values(chunk, |mut row, p| {
                    row.push_bind(p.id)
                        .push_bind(p.person.0)
                        .push_bind(p.institution.clone())
                        .push_bind(p.source_id.clone())
                        .push_bind(p.version)
                        .push_bind(p.collected_at.0)
                        .push_bind(p.resource.clone());
                });
                b.push(concat!(
                    " ON CONFLICT ",
                    $conflict_patients,
                    " DO UPDATE SET version = excluded.version, collected_at = excluded.collected_at, resource = excluded.resource"
                ));
                b.build().execute(&mut *conn).await?;
            }
            for chunk in set.directory.chunks(ROWS_PER_INSERT) {
                let mut b: QueryBuilder<$db> =
                    QueryBuilder::new("INSERT INTO directory_resources (id, resource_type, institution, source_id, version, collected_at, resource) ");
                b.push_values(chunk, |mut row, d| {
                    row.push_bind(d.id)
                        .push_bind(d.resource_type.clone())
                        .push_bind(d.institution.clone())
                        .push_bind(d.source_id.clone())
                        .push_bind(d.version)
                        .push_bind(d.collected_at.0)
                        .push_bind(d.resource.clone());
                });
                b.push(" ON CONFLICT (id) DO UPDATE SET version = excluded.version, collected_at = excluded.collected_at, resource = excluded.resource");
                b.build().execute(&mut *conn).await?;
            }
            let updated: Vec<i64> = set.entries.iter().filter(|e| e.version > 1).map(|e| e.id.0).collect();
            for chunk in updated.chunks(ROWS_PER_INSERT) {
                // The superseded version moves to the history before the new one is written.
                let mut b: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO entry_history (entry_id, version, person_id, collected_at, status, digest, submission_id, resource)
                     SELECT id, version, person_id, collected_at, status, digest, submission_id, resource FROM entries WHERE id IN (",
                );
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                b.build().execute(&mut *conn).await?;
                // Then the row goes: a new version may belong to another person (a corrected
                // subject), and the person is part of the primary key on PostgreSQL.
                let mut b: QueryBuilder<$db> = QueryBuilder::new("DELETE FROM entries WHERE id IN (");
                crate::shared::push_ids(&mut b, chunk);
                b.push(")");
                b.build().execute(&mut *conn).await?;
            }
            // Each dialect writes the two largest tables its fastest way.
            insert_entries(&mut *conn, &set.entries).await?;
            tx_write_index(&mut *conn, &set.match_records, &set.reviews).await?;
            tx_queue_leaves(&mut *conn, &set.ledger).await?;
            upsert_returns(&mut *conn, &set.returns).await?;
            close_returns(&mut *conn, &set.closed_returns).await?;
            // Last: the counters are the rows every institution's groups share, so they are held
            // locked for as short a time as possible.
            add_quality(&mut *conn, &set.quality).await?;
            Ok(())
        }
    };
}

pub(crate) use shared_sql;

/// The `Store` and `IngestTx` impls of a dialect: every method that only hands its arguments to
/// the shared SQL is generated here, reading through `self.$read` and writing through
/// `self.$write`; the dialect writes the rest (`$own`). The expanding module has `sql` (from
/// [`shared_sql!`] and [`crate::mpi::mpi_sql!`]), `allocate(conn, kind, n)`,
/// `lock_identities(conn, keys)` and the store's `begin_admin()`.
macro_rules! store_impls {
    ($store:ty, $tx:ident, read: $read:ident, write: $write:ident, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl crate::Store for $store {
            $($own)*

            async fn upsert_institution(&self, institution: &tongdang_core::Institution) -> crate::Result<()> {
                sql::upsert_institution(&self.$write, institution).await
            }

            async fn institution(&self, code: &tongdang_core::InstitutionCode) -> crate::Result<Option<tongdang_core::Institution>> {
                sql::institution(&self.$read, code).await
            }

            async fn institutions(&self) -> crate::Result<Vec<tongdang_core::Institution>> {
                sql::institutions(&self.$read).await
            }

            async fn insert_api_key(&self, key: &crate::ApiKeyRecord, revoke_others: bool) -> crate::Result<()> {
                sql::insert_api_key(&self.$write, key, revoke_others).await
            }

            async fn api_key(&self, hash: &[u8]) -> crate::Result<Option<crate::ApiKeyRecord>> {
                sql::api_key(&self.$read, hash).await
            }

            async fn submission(&self, id: i64) -> crate::Result<Option<crate::SubmissionRecord>> {
                sql::submission(&self.$read, id).await
            }

            async fn record_submission(&self, submission: &crate::SubmissionRecord) -> crate::Result<()> {
                sql::record_submission(&self.$write, submission).await
            }

            async fn allocate_ids(&self, kind: crate::IdKind, n: usize) -> crate::Result<Vec<i64>> {
                let mut conn = self.$write.acquire().await?;
                allocate(&mut conn, kind, n).await
            }

            async fn entry(&self, id: tongdang_core::EntryId) -> crate::Result<Option<crate::EntryRecord>> {
                sql::entry(&self.$read, id).await
            }

            async fn person_exists(&self, person: tongdang_core::PersonId) -> crate::Result<bool> {
                sql::person_exists(&self.$read, person).await
            }

            async fn persons(&self, after: Option<tongdang_core::PersonId>, limit: u32) -> crate::Result<Vec<tongdang_core::PersonId>> {
                sql::persons(&self.$read, after, limit).await
            }

            async fn patient_records(&self, person: tongdang_core::PersonId) -> crate::Result<Vec<crate::PatientRecord>> {
                sql::patient_records(&self.$read, person).await
            }

            async fn person_identifiers(&self, person: tongdang_core::PersonId) -> crate::Result<Vec<crate::PersonIdentifier>> {
                sql::person_identifiers(&self.$read, person).await
            }

            async fn persons_by_identifier(&self, system: Option<&str>, value: &str) -> crate::Result<Vec<tongdang_core::PersonId>> {
                sql::persons_by_identifier(&self.$read, system, value).await
            }

            async fn directory_resource(&self, resource_type: &str, id: i64) -> crate::Result<Option<crate::DirectoryRecord>> {
                sql::directory_resource(&self.$read, resource_type, id).await
            }

            async fn directory_resources(&self, ids: &[i64]) -> crate::Result<Vec<crate::DirectoryRecord>> {
                sql::directory_resources(&self.$read, ids).await
            }

            async fn counts(&self) -> crate::Result<crate::Counts> {
                sql::counts(&self.$read).await
            }

            async fn person_status(&self, person: tongdang_core::PersonId) -> crate::Result<Option<crate::PersonStatus>> {
                sql::person_status(&self.$read, person).await
            }

            async fn relink(&self, op: &crate::RelinkOp, actor: &str, reason: &str) -> crate::Result<crate::MpiEvent> {
                let mut tx = self.begin_admin().await?;
                let new_person = match op {
                    crate::RelinkOp::Unlink { .. } => Some(tongdang_core::PersonId(allocate(&mut tx, crate::IdKind::Person, 1).await?[0])),
                    _ => None,
                };
                let event = sql::tx_relink(&mut tx, op, new_person, actor, reason, None).await?;
                tx.commit().await?;
                Ok(event)
            }

            async fn patient_records_page(&self, after: i64, limit: u32) -> crate::Result<Vec<crate::PatientRecord>> {
                sql::patient_records_page(&self.$read, after, limit).await
            }

            async fn patient_record_person(&self, record: i64) -> crate::Result<Option<tongdang_core::PersonId>> {
                let p: Option<i64> = sqlx::query_scalar("SELECT person_id FROM patient_records WHERE id = $1").bind(record).fetch_optional(&self.$read).await?;
                Ok(p.map(tongdang_core::PersonId))
            }

            async fn mpi_events(&self, person: tongdang_core::PersonId) -> crate::Result<Vec<crate::MpiEvent>> {
                sql::mpi_events(&self.$read, person).await
            }

            async fn reviews(&self, status: Option<&str>, after: i64, limit: u32) -> crate::Result<Vec<crate::ReviewItem>> {
                sql::reviews(&self.$read, status, after, limit).await
            }

            async fn decide_review(&self, id: i64, link: bool, actor: &str, note: &str) -> crate::Result<(crate::ReviewItem, Option<crate::MpiEvent>)> {
                let mut tx = self.begin_admin().await?;
                let out = sql::tx_decide_review(&mut tx, id, link, actor, note).await?;
                tx.commit().await?;
                Ok(out)
            }

            async fn links(&self, after: i64, limit: u32) -> crate::Result<Vec<crate::LinkRow>> {
                sql::links(&self.$read, after, limit).await
            }

            async fn mpi_counts(&self) -> crate::Result<crate::MpiCounts> {
                sql::mpi_counts(&self.$read).await
            }

            async fn match_records_page(&self, after: i64, limit: u32) -> crate::Result<Vec<crate::MatchRecord>> {
                sql::match_records_page(&self.$read, after, limit).await
            }

            async fn match_records_with_keys(&self, keys: &[i64], limit: u32) -> crate::Result<Vec<crate::MatchRecord>> {
                sql::match_records_with_keys(&self.$read, keys, limit).await
            }

            async fn match_records_of(&self, persons: &[tongdang_core::PersonId]) -> crate::Result<Vec<crate::MatchRecord>> {
                sql::match_records_of(&self.$read, persons).await
            }

            async fn write_match_records(&self, records: &[crate::MatchRecordWrite]) -> crate::Result<()> {
                let mut tx = self.begin_admin().await?;
                sql::tx_write_index(&mut tx, records, &[]).await?;
                let ids: Vec<i64> = records.iter().map(|r| r.record.record).collect();
                sql::tx_refresh_match_persons(&mut tx, &ids).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn match_parameters(&self) -> crate::Result<Option<String>> {
                sql::match_parameters(&self.$read).await
            }

            async fn save_match_parameters(&self, json: &str) -> crate::Result<()> {
                sql::save_match_parameters(&self.$write, json).await
            }

            async fn protection_keys(&self) -> crate::Result<Vec<tongdang_protection::StoredKey>> {
                sql::protection_keys(&self.$write).await
            }

            async fn save_protection_keys(&self, keys: &[tongdang_protection::StoredKey], replace: bool) -> crate::Result<()> {
                sql::save_protection_keys(&self.$write, keys, replace).await
            }

            async fn ledger_sequence(&self, limit: usize) -> crate::Result<(u64, u64)> {
                let mut tx = self.begin_ledger().await?;
                let out = sql::tx_sequence(&mut *tx, limit).await?;
                tx.commit().await?;
                Ok(out)
            }

            async fn ledger_counts(&self) -> crate::Result<(u64, u64)> {
                sql::ledger_counts(&self.$read).await
            }

            async fn ledger_leaves_page(&self, after: Option<u64>, limit: u32) -> crate::Result<Vec<crate::StoredLeaf>> {
                sql::ledger_leaves_page(&self.$read, after, limit).await
            }

            async fn ledger_leaf_index(&self, kind: crate::LeafKind, ref_id: i64, ref_version: i64) -> crate::Result<Option<u64>> {
                sql::ledger_leaf_index(&self.$read, kind, ref_id, ref_version).await
            }

            async fn ledger_queued(&self, kind: crate::LeafKind, ref_id: i64, ref_version: i64) -> crate::Result<bool> {
                sql::ledger_queued(&self.$write, kind, ref_id, ref_version).await
            }

            async fn insert_checkpoint(&self, checkpoint: &crate::CheckpointRecord) -> crate::Result<()> {
                sql::insert_checkpoint(&self.$write, checkpoint).await
            }

            async fn checkpoints(&self, before: Option<u64>, limit: u32) -> crate::Result<Vec<crate::CheckpointRecord>> {
                sql::checkpoints(&self.$read, before, limit).await
            }

            async fn append_events(&self, events: &[crate::AuditEvent]) -> crate::Result<Vec<i64>> {
                sql::append_events(&self.$write, events).await
            }

            async fn audit_events(&self, person: Option<tongdang_core::PersonId>, before: Option<i64>, limit: u32) -> crate::Result<Vec<crate::AuditEvent>> {
                sql::audit_events(&self.$read, person, before, limit).await
            }

            async fn events_by_id(&self, ids: &[i64]) -> crate::Result<Vec<crate::AuditEvent>> {
                sql::events_by_id(&self.$read, ids).await
            }

            async fn entry_versions_page(&self, after: (i64, i64), limit: u32) -> crate::Result<Vec<crate::StoredEntryVersion>> {
                sql::entry_versions_page(&self.$read, after, limit).await
            }

            async fn sealed_page(&self, table: crate::SealedTable, after: &crate::SealedKey, limit: u32) -> crate::Result<Vec<crate::SealedRow>> {
                sql::sealed_page(&self.$read, table, after, limit).await
            }

            async fn replace_sealed(&self, table: crate::SealedTable, rows: &[(crate::SealedRow, Vec<u8>)]) -> crate::Result<u64> {
                sql::replace_sealed(&self.$write, table, rows).await
            }

            async fn insert_account(&self, account: &crate::AccountRecord) -> crate::Result<i64> {
                sql::insert_account(&self.$write, account).await
            }

            async fn account_by_login(&self, login: &str) -> crate::Result<Option<crate::AccountRecord>> {
                sql::account_where(&self.$write, Some(login), 0).await
            }

            async fn account(&self, id: i64) -> crate::Result<Option<crate::AccountRecord>> {
                sql::account_where(&self.$read, None, id).await
            }

            async fn accounts(&self, after: i64, limit: u32) -> crate::Result<Vec<crate::AccountRecord>> {
                sql::accounts_page(&self.$read, after, limit).await
            }

            async fn record_sign_in(
                &self,
                account: i64,
                success: bool,
                max_failures: i64,
                lock_until: tongdang_core::Timestamp,
            ) -> crate::Result<Option<tongdang_core::Timestamp>> {
                sql::record_sign_in(&self.$write, account, success, max_failures, lock_until).await
            }

            async fn insert_session(&self, session: &crate::SessionRecord) -> crate::Result<()> {
                sql::insert_session(&self.$write, session).await
            }

            async fn put_sign_in_code(
                &self,
                account: i64,
                hash: &str,
                now: tongdang_core::Timestamp,
                expires: tongdang_core::Timestamp,
                resend_after: tongdang_core::Timestamp,
                day: i32,
                day_cap: i32,
            ) -> crate::Result<bool> {
                sql::put_sign_in_code(&self.$write, account, hash, now, expires, resend_after, day, day_cap).await
            }

            async fn claim_sign_in_code(&self, account: i64, now: tongdang_core::Timestamp, max_attempts: i32) -> crate::Result<Option<String>> {
                sql::claim_sign_in_code(&self.$write, account, now, max_attempts).await
            }

            async fn use_sign_in_code(&self, account: i64, hash: &str) -> crate::Result<bool> {
                sql::use_sign_in_code(&self.$write, account, hash).await
            }

            async fn session(&self, token_hash: &[u8]) -> crate::Result<Option<crate::SessionRecord>> {
                sql::session(&self.$read, token_hash).await
            }

            async fn revoke_session(&self, token_hash: &[u8]) -> crate::Result<()> {
                sql::revoke_session(&self.$write, token_hash).await
            }

            async fn api_keys_of(&self, institution: &str) -> crate::Result<Vec<crate::ApiKeyRecord>> {
                sql::api_keys_of(&self.$read, institution).await
            }

            async fn revoke_api_key(&self, institution: &str, prefix: &str) -> crate::Result<bool> {
                sql::revoke_api_key(&self.$write, institution, prefix).await
            }

            async fn resident_account(&self, person: tongdang_core::PersonId) -> crate::Result<Option<crate::AccountRecord>> {
                sql::resident_account(&self.$read, person).await
            }

            async fn insert_grant(&self, grant: &crate::GrantRecord) -> crate::Result<(i64, bool)> {
                sql::insert_grant(&self.$write, grant).await
            }

            async fn grant(&self, id: i64) -> crate::Result<Option<crate::GrantRecord>> {
                sql::grant(&self.$read, id).await
            }

            async fn grants(&self, filter: &crate::GrantFilter) -> crate::Result<Vec<crate::GrantRecord>> {
                sql::grants(&self.$read, filter).await
            }

            async fn transition_grant(&self, transition: &crate::GrantTransition) -> crate::Result<bool> {
                sql::transition_grant(&self.$write, transition).await
            }

            async fn record_code_try(&self, grant: i64, max_tries: i64, at: tongdang_core::Timestamp) -> crate::Result<Option<i64>> {
                sql::record_code_try(&self.$write, grant, max_tries, at).await
            }

            async fn review_grant(&self, review: &crate::GrantRecord) -> crate::Result<bool> {
                sql::review_grant(&self.$write, review).await
            }

            async fn mark_first_read(&self, person: tongdang_core::PersonId, institution: &str, at: tongdang_core::Timestamp) -> crate::Result<bool> {
                sql::mark_first_read(&self.$write, person, institution, at).await
            }

            async fn set_face_verified(&self, account: i64, at: tongdang_core::Timestamp) -> crate::Result<()> {
                sql::set_face_verified(&self.$write, account, at).await
            }

            async fn audit_search(&self, query: &crate::AuditQuery) -> crate::Result<Vec<crate::AuditEvent>> {
                sql::audit_search(&self.$read, query).await
            }

            async fn audit_events_of_grant(&self, grant: i64, limit: u32) -> crate::Result<Vec<crate::AuditEvent>> {
                sql::audit_events_of_grant(&self.$read, grant, limit).await
            }

            async fn returns(&self, filter: &crate::ReturnFilter) -> crate::Result<Vec<crate::ReturnRecord>> {
                sql::returns(&self.$read, filter).await
            }

            async fn return_by_id(&self, id: i64) -> crate::Result<Option<crate::ReturnRecord>> {
                sql::return_by_id(&self.$read, id).await
            }

            async fn open_returns_summary(
                &self,
                institutions: Option<&[String]>,
                now: tongdang_core::Timestamp,
            ) -> crate::Result<crate::OpenReturns> {
                sql::open_returns_summary(&self.$read, institutions, now).await
            }

            async fn record_quality(&self, counts: &[crate::QualityCounts], returns: &[crate::ReturnRecord]) -> crate::Result<()> {
                sql::record_quality(&self.$write, counts, returns).await
            }

            async fn quality(&self, query: &crate::QualityQuery) -> crate::Result<Vec<crate::QualityCounts>> {
                sql::quality(&self.$read, query).await
            }

            async fn quality_by_institution(&self, query: &crate::QualityQuery) -> crate::Result<Vec<crate::QualityCounts>> {
                sql::quality_by_institution(&self.$read, query).await
            }

            async fn held_entries(
                &self,
                institution: &str,
                from: tongdang_core::Timestamp,
                to: tongdang_core::Timestamp,
                category: Option<i16>,
            ) -> crate::Result<Vec<crate::HeldEntry>> {
                sql::held_entries(&self.$read, institution, from, to, category).await
            }

            async fn insert_reconciliation(&self, record: &crate::ReconciliationRecord) -> crate::Result<i64> {
                sql::insert_reconciliation(&self.$write, record).await
            }

            async fn reconciliations(
                &self,
                institutions: Option<&[String]>,
                before: Option<i64>,
                limit: u32,
            ) -> crate::Result<Vec<crate::ReconciliationRecord>> {
                sql::reconciliations(&self.$read, institutions, before, limit).await
            }

            async fn reconciliation(&self, id: i64) -> crate::Result<Option<crate::ReconciliationRecord>> {
                sql::reconciliation(&self.$read, id).await
            }

            async fn insert_rule_set(&self, record: &crate::RuleSetRecord) -> crate::Result<bool> {
                sql::insert_rule_set(&self.$write, record).await
            }

            async fn rule_sets(&self) -> crate::Result<Vec<crate::RuleSetRecord>> {
                sql::rule_sets(&self.$read).await
            }

            async fn activate_rule_set(&self, version: &str, at: tongdang_core::Timestamp, recheck_total: i64) -> crate::Result<bool> {
                sql::activate_rule_set(&self.$write, version, at, recheck_total).await
            }

            async fn record_recheck(&self, step: &crate::RecheckStep, returns: &[crate::ReturnRecord]) -> crate::Result<bool> {
                sql::record_recheck(&self.$write, step, returns).await
            }

            async fn entries_after(&self, after: i64, limit: u32) -> crate::Result<Vec<crate::EntryRecord>> {
                sql::entries_after(&self.$read, after, limit).await
            }

            async fn insert_work_order(&self, order: &crate::WorkOrderRecord, step: &crate::WorkOrderStep) -> crate::Result<Option<i64>> {
                sql::insert_work_order(&self.$write, order, step).await
            }

            async fn work_order(&self, id: i64) -> crate::Result<Option<crate::WorkOrderRecord>> {
                sql::work_order(&self.$read, id).await
            }

            async fn work_orders(&self, filter: &crate::WorkOrderFilter) -> crate::Result<Vec<crate::WorkOrderRecord>> {
                sql::work_orders(&self.$read, filter).await
            }

            async fn change_work_order(&self, change: &crate::WorkOrderChange) -> crate::Result<bool> {
                sql::change_work_order(&self.$write, change).await
            }

            async fn work_order_steps(&self, order: i64) -> crate::Result<Vec<crate::WorkOrderStep>> {
                sql::work_order_steps(&self.$read, order).await
            }

            async fn return_clusters(&self, min: i64) -> crate::Result<Vec<(String, String, i64)>> {
                sql::return_clusters(&self.$read, min).await
            }

            async fn work_order_counts(&self) -> crate::Result<Vec<(String, i64)>> {
                sql::work_order_counts(&self.$read).await
            }

            async fn work_order_stats(&self, from: tongdang_core::Timestamp, to: tongdang_core::Timestamp) -> crate::Result<Vec<crate::WorkOrderStats>> {
                sql::work_order_stats(&self.$read, from, to).await
            }

            async fn return_problems(&self, from: tongdang_core::Timestamp, to: tongdang_core::Timestamp) -> crate::Result<Vec<(String, String, i64)>> {
                sql::return_problems(&self.$read, from, to).await
            }

            async fn quality_rollups(&self, from: i32, to: i32) -> crate::Result<Vec<crate::QualityCounts>> {
                sql::quality_rollups(&self.$read, from, to).await
            }

            async fn insert_report(&self, report: &crate::ReportRecord) -> crate::Result<Option<i64>> {
                sql::insert_report(&self.$write, report).await
            }

            async fn reports(&self, period: Option<&str>, scopes: Option<&[String]>, limit: u32) -> crate::Result<Vec<crate::ReportRecord>> {
                sql::reports(&self.$read, period, scopes, limit).await
            }

            async fn report(&self, id: i64) -> crate::Result<Option<crate::ReportRecord>> {
                sql::report(&self.$read, id).await
            }

            async fn has_scheduled_report(&self, period: &str, scope: &str) -> crate::Result<bool> {
                sql::has_scheduled_report(&self.$read, period, scope).await
            }

            async fn set_integration_test(&self, test: &crate::IntegrationTest) -> crate::Result<()> {
                sql::set_integration_test(&self.$write, test).await
            }

            async fn integration_tests(&self) -> crate::Result<Vec<crate::IntegrationTest>> {
                sql::integration_tests(&self.$read).await
            }

            async fn source_activity(&self) -> crate::Result<Vec<crate::SourceActivity>> {
                sql::source_activity(&self.$read).await
            }

            async fn keyed_institutions(&self) -> crate::Result<Vec<String>> {
                sql::keyed_institutions(&self.$read).await
            }

            async fn submission_flow(&self, since: tongdang_core::Timestamp, sources: Option<&[String]>) -> crate::Result<Vec<crate::SubmissionMinute>> {
                sql::submission_flow(&self.$read, since, sources).await
            }

            async fn grant_counts(&self, since: tongdang_core::Timestamp) -> crate::Result<Vec<(String, String, i64)>> {
                sql::grant_counts(&self.$read, since).await
            }

            async fn overdue_work_orders(&self, now: tongdang_core::Timestamp, limit: u32) -> crate::Result<Vec<crate::WorkOrderRecord>> {
                sql::overdue_work_orders(&self.$read, now, limit).await
            }

            async fn entry_id_bounds(&self) -> crate::Result<(i64, i64)> {
                sql::entry_id_bounds(&self.$read).await
            }

            async fn entry_count(&self) -> crate::Result<i64> {
                sql::entry_count(&self.$read).await
            }
        }

        #[async_trait::async_trait]
        impl crate::IngestTx for $tx {
            async fn source_keys(
                &mut self,
                institution: &str,
                keys: &[crate::TypeAndId],
            ) -> crate::Result<std::collections::HashMap<crate::TypeAndId, crate::SourceKey>> {
                sql::tx_source_keys(&mut self.tx, institution, keys).await
            }

            async fn source_ids_by_identifier(
                &mut self,
                institution: &str,
                lookups: &[crate::IdentifierLookup],
            ) -> crate::Result<std::collections::HashMap<crate::IdentifierLookup, String>> {
                sql::tx_source_ids_by_identifier(&mut self.tx, institution, lookups).await
            }

            async fn persons_holding(
                &mut self,
                identifiers: &[(String, String)],
            ) -> crate::Result<std::collections::HashMap<(String, String), tongdang_core::PersonId>> {
                sql::tx_persons_holding(&mut self.tx, identifiers).await
            }

            async fn allocate_ids(&mut self, kind: crate::IdKind, n: usize) -> crate::Result<Vec<i64>> {
                allocate(&mut self.tx, kind, n).await
            }

            async fn lock_identities(&mut self, keys: &[i64]) -> crate::Result<()> {
                lock_identities(&mut self.tx, keys).await
            }

            async fn match_hits(&mut self, keys: &[i64]) -> crate::Result<Vec<(i64, i64)>> {
                sql::tx_match_hits(&mut self.tx, keys).await
            }

            async fn match_records(&mut self, records: &[i64]) -> crate::Result<Vec<crate::MatchRecord>> {
                sql::tx_match_records(&mut self.tx, false, records).await
            }

            async fn match_records_of(&mut self, persons: &[tongdang_core::PersonId]) -> crate::Result<Vec<crate::MatchRecord>> {
                let ids: Vec<i64> = persons.iter().map(|p| p.0).collect();
                sql::tx_match_records(&mut self.tx, true, &ids).await
            }

            async fn survivors(&mut self, persons: &[tongdang_core::PersonId]) -> crate::Result<Vec<(tongdang_core::PersonId, tongdang_core::PersonId)>> {
                sql::tx_survivors(&mut self.tx, persons).await
            }

            async fn open_returns(
                &mut self,
                institution: &str,
                keys: &[crate::TypeAndId],
            ) -> crate::Result<std::collections::HashMap<crate::TypeAndId, i64>> {
                sql::tx_open_returns(&mut self.tx, institution, keys).await
            }

            async fn entries_at(&mut self, points: &[(i64, i64)]) -> crate::Result<Vec<crate::SimilarEntry>> {
                sql::tx_entries_at(&mut self.tx, points).await
            }

            async fn write(&mut self, set: &crate::WriteSet) -> crate::Result<()> {
                sql::tx_write(&mut self.tx, set).await
            }

            async fn commit(self: Box<Self>) -> crate::Result<()> {
                self.tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use store_impls;
