//! SQL of grants, first reads and face verification, the same on both dialects. `grants_sql!`
//! expands into a dialect's `sql` module; the `Store` methods over it are in `shared::store_impls!`.

macro_rules! grants_sql {
    ($db:ty) => {
        use crate::grants::GRANT_SELECT as GRANT_COLUMNS;

        fn grant_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::GrantRecord> {
            use sqlx::Row;
            use tongdang_core::Timestamp;
            Ok(crate::GrantRecord {
                id: r.try_get(0)?,
                person: tongdang_core::PersonId(r.try_get(1)?),
                institution: r.try_get(2)?,
                department: r.try_get(3)?,
                clinician: r.try_get(4)?,
                categories: r.try_get(5)?,
                channel: r.try_get(6)?,
                status: r.try_get(7)?,
                valid_from: Timestamp(r.try_get(8)?),
                valid_until: Timestamp(r.try_get(9)?),
                requested_by: r.try_get(10)?,
                external_ref: r.try_get(11)?,
                sealed: r.try_get(12)?,
                created_at: Timestamp(r.try_get(13)?),
                decided_at: r.try_get::<Option<i64>, _>(14)?.map(Timestamp),
                decided_by: r.try_get(15)?,
                code_digest: r.try_get(16)?,
                code_expires: r.try_get::<Option<i64>, _>(17)?.map(Timestamp),
                code_tries: r.try_get(18)?,
                review_status: r.try_get(19)?,
                reviewed_by: r.try_get(20)?,
                reviewed_at: r.try_get::<Option<i64>, _>(21)?.map(Timestamp),
                evidence: String::new(),
                review_note: String::new(),
            })
        }

        pub(crate) async fn insert_grant(pool: &sqlx::Pool<$db>, g: &crate::GrantRecord) -> crate::Result<(i64, bool)> {
            use sqlx::Row;
            let row = sqlx::query(
                "INSERT INTO grants (person_id, institution, department, clinician, categories, channel, status, valid_from, valid_until, requested_by, external_ref, sealed, created_at, decided_at, decided_by, code_digest, code_expires, code_tries, review_status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 0, $18)
                 ON CONFLICT (channel, external_ref) DO NOTHING RETURNING id",
            )
            .bind(g.person.0)
            .bind(&g.institution)
            .bind(&g.department)
            .bind(g.clinician)
            .bind(&g.categories)
            .bind(&g.channel)
            .bind(&g.status)
            .bind(g.valid_from.0)
            .bind(g.valid_until.0)
            .bind(&g.requested_by)
            .bind(&g.external_ref)
            .bind(&g.sealed)
            .bind(g.created_at.0)
            .bind(g.decided_at.map(|t| t.0))
            .bind(&g.decided_by)
            .bind(&g.code_digest)
            .bind(g.code_expires.map(|t| t.0))
            .bind(&g.review_status)
            .fetch_optional(pool)
            .await?;
            if let Some(r) = row {
                return Ok((r.try_get(0)?, true));
            }
            let existing = sqlx::query("SELECT id FROM grants WHERE channel = $1 AND external_ref = $2")
                .bind(&g.channel)
                .bind(&g.external_ref)
                .fetch_one(pool)
                .await?;
            Ok((existing.try_get(0)?, false))
        }

        pub(crate) async fn grant(pool: &sqlx::Pool<$db>, id: i64) -> crate::Result<Option<crate::GrantRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("{GRANT_COLUMNS} WHERE id = $1"))).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(grant_from_row).transpose()
        }

        pub(crate) async fn grants(pool: &sqlx::Pool<$db>, f: &crate::GrantFilter) -> crate::Result<Vec<crate::GrantRecord>> {
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(format!("{GRANT_COLUMNS} WHERE id < "));
            b.push_bind(f.before.unwrap_or(i64::MAX));
            if let Some(p) = f.person {
                b.push(" AND person_id = ").push_bind(p.0);
            }
            if let Some(i) = &f.institution {
                b.push(" AND institution = ").push_bind(i.clone());
            }
            if let Some(s) = &f.status {
                b.push(" AND status = ").push_bind(s.clone());
            }
            if let Some(c) = &f.channel {
                b.push(" AND channel = ").push_bind(c.clone());
            }
            if let Some(r) = &f.review_status {
                b.push(" AND review_status = ").push_bind(r.clone());
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(f.limit));
            b.build().fetch_all(pool).await?.iter().map(grant_from_row).collect()
        }

        pub(crate) async fn transition_grant(pool: &sqlx::Pool<$db>, t: &crate::GrantTransition) -> crate::Result<bool> {
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new("UPDATE grants SET status = ");
            b.push_bind(t.to.clone());
            b.push(", decided_at = ").push_bind(t.at.0);
            b.push(", decided_by = ").push_bind(t.by.clone());
            if let Some(v) = t.valid_from {
                b.push(", valid_from = ").push_bind(v.0);
            }
            if let Some(v) = t.valid_until {
                b.push(", valid_until = ").push_bind(v.0);
            }
            if let Some(c) = &t.categories {
                b.push(", categories = ").push_bind(c.clone());
            }
            b.push(" WHERE id = ").push_bind(t.id);
            b.push(" AND status IN (");
            let mut s = b.separated(", ");
            for f in &t.from {
                s.push_bind(f.clone());
            }
            b.push(")");
            Ok(b.build().execute(pool).await?.rows_affected() == 1)
        }

        pub(crate) async fn record_code_try(pool: &sqlx::Pool<$db>, id: i64, max_tries: i64, at: tongdang_core::Timestamp) -> crate::Result<Option<i64>> {
            use sqlx::Row;
            // One statement: concurrent wrong codes each count, and the one that reaches the
            // limit locks the request.
            let row = sqlx::query(
                "UPDATE grants SET code_tries = code_tries + 1,
                        status = CASE WHEN code_tries + 1 >= $2 THEN 'locked' ELSE status END,
                        decided_at = CASE WHEN code_tries + 1 >= $2 THEN $3 ELSE decided_at END
                 WHERE id = $1 AND status = 'requested' RETURNING code_tries",
            )
            .bind(id)
            .bind(max_tries)
            .bind(at.0)
            .fetch_optional(pool)
            .await?;
            Ok(match row {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            })
        }

        pub(crate) async fn review_grant(pool: &sqlx::Pool<$db>, g: &crate::GrantRecord) -> crate::Result<bool> {
            let done = sqlx::query(
                "UPDATE grants SET review_status = $1, reviewed_by = $2, reviewed_at = $3, sealed = $4 WHERE id = $5 AND review_status = 'open'",
            )
            .bind(&g.review_status)
            .bind(&g.reviewed_by)
            .bind(g.reviewed_at.map(|t| t.0))
            .bind(&g.sealed)
            .bind(g.id)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn mark_first_read(
            pool: &sqlx::Pool<$db>,
            person: tongdang_core::PersonId,
            institution: &str,
            at: tongdang_core::Timestamp,
        ) -> crate::Result<bool> {
            let done = sqlx::query("INSERT INTO first_reads (person_id, institution, at) VALUES ($1, $2, $3) ON CONFLICT (person_id, institution) DO NOTHING")
                .bind(person.0)
                .bind(institution)
                .bind(at.0)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn set_face_verified(pool: &sqlx::Pool<$db>, account: i64, at: tongdang_core::Timestamp) -> crate::Result<()> {
            sqlx::query("UPDATE accounts SET face_verified_at = $1 WHERE id = $2").bind(at.0).bind(account).execute(pool).await?;
            Ok(())
        }
    };
}

pub(crate) use grants_sql;
