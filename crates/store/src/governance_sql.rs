//! SQL of data governance, the same on both dialects: returns, quality counters, reconciliation,
//! rule sets. `governance_sql!` expands into a dialect's `sql` module; the `Store` methods over
//! it are in `shared::store_impls!`, the writes inside an ingest transaction in `tx_write`.

macro_rules! governance_sql {
    ($db:ty, $conn:ty) => {
        const RETURN_COLUMNS: &str = "id, institution, resource_type, source_id, category, origin, status, rules, findings, rule_set, first_submission_id, submission_id, attempts, opened_at, updated_at, closed_at, closed_submission_id, correction";
        // PostgreSQL sums BIGINT as NUMERIC: cast back.
        const QUALITY_SUMS: &str = "CAST(SUM(received) AS BIGINT), CAST(SUM(accepted) AS BIGINT), CAST(SUM(returned) AS BIGINT), CAST(SUM(incomplete) AS BIGINT), CAST(SUM(invalid) AS BIGINT), CAST(SUM(inconsistent) AS BIGINT), CAST(SUM(late) AS BIGINT), CAST(SUM(duplicates) AS BIGINT), CAST(SUM(timed) AS BIGINT), CAST(SUM(lag_seconds) AS BIGINT), CAST(SUM(lag_1h) AS BIGINT), CAST(SUM(lag_1d) AS BIGINT), CAST(SUM(lag_3d) AS BIGINT), CAST(SUM(lag_7d) AS BIGINT), CAST(SUM(lag_30d) AS BIGINT), CAST(SUM(lag_more) AS BIGINT)";
        const RULE_SET_COLUMNS: &str = "version, body, status, trial, created_at, created_by, activated_at, recheck_total, recheck_done, recheck_returned, recheck_after, recheck_finished_at";

/// ` AND institution IN (…)` of a non-empty list (callers answer an empty list themselves:
        /// `IN ()` is not SQL).
        fn push_institutions(b: &mut sqlx::QueryBuilder<$db>, list: &[String]) {
            b.push(" AND institution IN (");
            let mut sep = b.separated(", ");
            for i in list {
                sep.push_bind(i.clone());
            }
            b.push(")");
        }

                fn return_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::ReturnRecord> {
            use sqlx::Row;
            use tongdang_core::Timestamp;
            Ok(crate::ReturnRecord {
                id: r.try_get(0)?,
                institution: r.try_get(1)?,
                resource_type: r.try_get(2)?,
                source_id: r.try_get(3)?,
                category: r.try_get(4)?,
                origin: r.try_get(5)?,
                status: r.try_get(6)?,
                rules: r.try_get(7)?,
                findings: r.try_get(8)?,
                rule_set: r.try_get(9)?,
                first_submission: r.try_get(10)?,
                submission: r.try_get(11)?,
                attempts: r.try_get(12)?,
                opened_at: Timestamp(r.try_get(13)?),
                updated_at: Timestamp(r.try_get(14)?),
                closed_at: r.try_get::<Option<i64>, _>(15)?.map(Timestamp),
                closed_submission: r.try_get(16)?,
                correction: r.try_get(17)?,
            })
        }

        /// Sums in `QUALITY_SUMS` order, starting at column `at`.
        fn sums_from_row(r: &<$db as sqlx::Database>::Row, at: usize, into: &mut crate::QualityCounts) -> crate::Result<()> {
            use sqlx::Row;
            let v = |i: usize| -> crate::Result<i64> { Ok(r.try_get::<Option<i64>, _>(at + i)?.unwrap_or(0)) };
            into.received = v(0)?;
            into.accepted = v(1)?;
            into.returned = v(2)?;
            into.incomplete = v(3)?;
            into.invalid = v(4)?;
            into.inconsistent = v(5)?;
            into.late = v(6)?;
            into.duplicates = v(7)?;
            into.timed = v(8)?;
            into.lag_seconds = v(9)?;
            for i in 0..6 {
                into.lag[i] = v(10 + i)?;
            }
            Ok(())
        }

        fn rule_set_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::RuleSetRecord> {
            use sqlx::Row;
            use tongdang_core::Timestamp;
            Ok(crate::RuleSetRecord {
                version: r.try_get(0)?,
                body: r.try_get(1)?,
                status: r.try_get(2)?,
                trial: r.try_get(3)?,
                created_at: Timestamp(r.try_get(4)?),
                created_by: r.try_get(5)?,
                activated_at: r.try_get::<Option<i64>, _>(6)?.map(Timestamp),
                recheck_total: r.try_get(7)?,
                recheck_done: r.try_get(8)?,
                recheck_returned: r.try_get(9)?,
                recheck_after: r.try_get(10)?,
                recheck_finished_at: r.try_get::<Option<i64>, _>(11)?.map(Timestamp),
            })
        }

        /// The open returns among these resources of `institution`: their ids.
        pub(crate) async fn tx_open_returns(
            conn: &mut $conn,
            institution: &str,
            keys: &[crate::TypeAndId],
        ) -> crate::Result<std::collections::HashMap<crate::TypeAndId, i64>> {
            use sqlx::Row;
            let mut out = std::collections::HashMap::new();
            for chunk in keys.chunks(crate::shared::ROWS_PER_INSERT / 2) {
                let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "SELECT resource_type, source_id, id FROM returns WHERE status = 'open' AND institution = ",
                );
                b.push_bind(institution.to_string());
                let mut types: Vec<&String> = chunk.iter().map(|(t, _)| t).collect();
                types.sort();
                types.dedup();
                b.push(" AND resource_type IN (");
                let mut sep = b.separated(", ");
                for t in types {
                    sep.push_bind(t.clone());
                }
                b.push(") AND source_id IN (");
                let mut sep = b.separated(", ");
                for (_, id) in chunk {
                    sep.push_bind(id.clone());
                }
                b.push(")");
                for row in b.build().fetch_all(&mut *conn).await? {
                    let key: crate::TypeAndId = (row.try_get(0)?, row.try_get(1)?);
                    if chunk.contains(&key) {
                        out.insert(key, row.try_get(2)?);
                    }
                }
            }
            Ok(out)
        }

        /// Entries at exactly these `(person, sort time)` points: candidates for duplicates.
        pub(crate) async fn tx_entries_at(
            conn: &mut $conn,
            points: &[(i64, i64)],
        ) -> crate::Result<Vec<crate::SimilarEntry>> {
            use sqlx::Row;
            let mut out = Vec::new();
            for chunk in points.chunks(200) {
                let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "SELECT person_id, sort_time, resource_type, codes, institution, source_id FROM entries WHERE status = 0 AND (",
                );
                for (i, (person, time)) in chunk.iter().enumerate() {
                    if i > 0 {
                        b.push(" OR ");
                    }
                    b.push("(person_id = ").push_bind(*person).push(" AND sort_time = ").push_bind(*time).push(")");
                }
                b.push(")");
                for row in b.build().fetch_all(&mut *conn).await? {
                    out.push(crate::SimilarEntry {
                        person: tongdang_core::PersonId(row.try_get(0)?),
                        sort_time: row.try_get(1)?,
                        resource_type: row.try_get(2)?,
                        codes: row.try_get(3)?,
                        institution: row.try_get(4)?,
                        source_id: row.try_get(5)?,
                    });
                }
            }
            Ok(out)
        }

        /// Open returns, or fail open ones again (one open return per resource).
        pub(crate) async fn upsert_returns(conn: &mut $conn, returns: &[crate::ReturnRecord]) -> crate::Result<()> {
            for chunk in returns.chunks(crate::shared::ROWS_PER_INSERT / 4) {
                let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "INSERT INTO returns (institution, resource_type, source_id, category, origin, status, rules, findings, rule_set, first_submission_id, submission_id, attempts, opened_at, updated_at) ",
                );
                b.push_values(chunk, |mut row, r| {
                    row.push_bind(r.institution.clone())
                        .push_bind(r.resource_type.clone())
                        .push_bind(r.source_id.clone())
                        .push_bind(r.category)
                        .push_bind(r.origin.clone())
                        .push_bind("open")
                        .push_bind(r.rules.clone())
                        .push_bind(r.findings.clone())
                        .push_bind(r.rule_set.clone())
                        .push_bind(r.first_submission)
                        .push_bind(r.submission)
                        .push_bind(r.attempts)
                        .push_bind(r.opened_at.0)
                        .push_bind(r.updated_at.0);
                });
                b.push(
                    " ON CONFLICT (institution, resource_type, source_id) WHERE status = 'open' DO UPDATE SET
                      rules = excluded.rules, findings = excluded.findings, rule_set = excluded.rule_set,
                      submission_id = COALESCE(excluded.submission_id, returns.submission_id),
                      attempts = returns.attempts + excluded.attempts, updated_at = excluded.updated_at",
                );
                b.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        pub(crate) async fn close_returns(conn: &mut $conn, closures: &[crate::ReturnClosure]) -> crate::Result<()> {
            for c in closures {
                sqlx::query(
                    "UPDATE returns SET status = 'closed', closed_at = $1, closed_submission_id = $2, correction = $3 WHERE id = $4 AND status = 'open'",
                )
                .bind(c.at.0)
                .bind(c.submission)
                .bind(&c.correction)
                .bind(c.id)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }

        pub(crate) async fn add_quality(conn: &mut $conn, counts: &[crate::QualityCounts]) -> crate::Result<()> {
            let counts = crate::governance::with_city_rollups(counts);
            for chunk in counts.chunks(crate::shared::ROWS_PER_INSERT / 4) {
                let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "INSERT INTO quality_daily (institution, day, category, city, received, accepted, returned, incomplete, invalid, inconsistent, late, duplicates, timed, lag_seconds, lag_1h, lag_1d, lag_3d, lag_7d, lag_30d, lag_more) ",
                );
                b.push_values(chunk, |mut row, q| {
                    row.push_bind(q.institution.clone())
                        .push_bind(q.day)
                        .push_bind(q.category)
                        .push_bind(q.city.clone())
                        .push_bind(q.received)
                        .push_bind(q.accepted)
                        .push_bind(q.returned)
                        .push_bind(q.incomplete)
                        .push_bind(q.invalid)
                        .push_bind(q.inconsistent)
                        .push_bind(q.late)
                        .push_bind(q.duplicates)
                        .push_bind(q.timed)
                        .push_bind(q.lag_seconds);
                    for n in q.lag {
                        row.push_bind(n);
                    }
                });
                b.push(
                    " ON CONFLICT (institution, day, category) DO UPDATE SET
                      received = quality_daily.received + excluded.received, accepted = quality_daily.accepted + excluded.accepted,
                      returned = quality_daily.returned + excluded.returned, incomplete = quality_daily.incomplete + excluded.incomplete,
                      invalid = quality_daily.invalid + excluded.invalid, inconsistent = quality_daily.inconsistent + excluded.inconsistent,
                      late = quality_daily.late + excluded.late, duplicates = quality_daily.duplicates + excluded.duplicates,
                      timed = quality_daily.timed + excluded.timed, lag_seconds = quality_daily.lag_seconds + excluded.lag_seconds,
                      lag_1h = quality_daily.lag_1h + excluded.lag_1h, lag_1d = quality_daily.lag_1d + excluded.lag_1d,
                      lag_3d = quality_daily.lag_3d + excluded.lag_3d, lag_7d = quality_daily.lag_7d + excluded.lag_7d,
                      lag_30d = quality_daily.lag_30d + excluded.lag_30d, lag_more = quality_daily.lag_more + excluded.lag_more",
                );
                b.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        pub(crate) async fn record_quality(pool: &sqlx::Pool<$db>, counts: &[crate::QualityCounts], returns: &[crate::ReturnRecord]) -> crate::Result<()> {
            let mut tx = pool.begin().await?;
            add_quality(&mut tx, counts).await?;
            upsert_returns(&mut tx, returns).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn returns(pool: &sqlx::Pool<$db>, f: &crate::ReturnFilter) -> crate::Result<Vec<crate::ReturnRecord>> {
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(format!("SELECT {RETURN_COLUMNS} FROM returns WHERE 1 = 1"));
            if let Some(i) = &f.institution {
                b.push(" AND institution = ").push_bind(i.clone());
            }
            if let Some(list) = &f.institutions {
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                push_institutions(&mut b, list);
            }
            if let Some(s) = &f.status {
                b.push(" AND status = ").push_bind(s.clone());
            }
            if let Some(t) = f.since {
                b.push(" AND updated_at >= ").push_bind(t.0);
            }
            if let Some(r) = &f.rule {
                // Rule ids are space separated; padding makes one id never match inside another.
                b.push(" AND (' ' || rules || ' ') LIKE ").push_bind(format!("% {r} %"));
            }
            if let Some(before) = f.before {
                b.push(" AND id < ").push_bind(before);
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(f.limit));
            b.build().fetch_all(pool).await?.iter().map(return_from_row).collect()
        }

        pub(crate) async fn return_by_id(pool: &sqlx::Pool<$db>, id: i64) -> crate::Result<Option<crate::ReturnRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RETURN_COLUMNS} FROM returns WHERE id = $1"))).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(return_from_row).transpose()
        }

        pub(crate) async fn open_returns_summary(
            pool: &sqlx::Pool<$db>,
            institutions: Option<&[String]>,
            now: tongdang_core::Timestamp,
        ) -> crate::Result<crate::OpenReturns> {
            use sqlx::Row;
            const DAY: i64 = 86_400_000_000;
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new("SELECT COUNT(*), MIN(opened_at), SUM(CASE WHEN opened_at >= ");
            b.push_bind(now.0 - DAY).push(" THEN 1 ELSE 0 END), SUM(CASE WHEN opened_at >= ").push_bind(now.0 - 7 * DAY);
            b.push(" THEN 1 ELSE 0 END), SUM(CASE WHEN opened_at >= ").push_bind(now.0 - 30 * DAY);
            b.push(" THEN 1 ELSE 0 END) FROM returns WHERE status = 'open'");
            if let Some(list) = institutions {
                if list.is_empty() {
                    return Ok(crate::OpenReturns::default());
                }
                push_institutions(&mut b, list);
            }
            let row = b.build().fetch_one(pool).await?;
            let count: i64 = row.try_get(0)?;
            let within = |i: usize| -> crate::Result<i64> { Ok(row.try_get::<Option<i64>, _>(i)?.unwrap_or(0)) };
            let (d1, d7, d30) = (within(2)?, within(3)?, within(4)?);
            Ok(crate::OpenReturns {
                count,
                oldest: row.try_get::<Option<i64>, _>(1)?.map(tongdang_core::Timestamp),
                by_age: [d1, d7 - d1, d30 - d7, count - d30],
            })
        }

        /// Quality sums per day and category over the query's scope.
        pub(crate) async fn quality(pool: &sqlx::Pool<$db>, q: &crate::QualityQuery) -> crate::Result<Vec<crate::QualityCounts>> {
            use sqlx::Row;
            let mut b: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new(format!("SELECT day, category, {QUALITY_SUMS} FROM quality_daily WHERE day >= "));
            b.push_bind(q.from).push(" AND day <= ").push_bind(q.to);
            // A city or the province reads the cities' rollup rows, not every institution's.
            match (&q.institution, &q.city) {
                (Some(i), _) => {
                    b.push(" AND institution = ").push_bind(i.clone());
                }
                (None, Some(c)) => {
                    b.push(" AND institution = ").push_bind(crate::governance::city_rollup(c));
                }
                (None, None) => {
                    b.push(" AND institution >= ").push_bind(crate::governance::ROLLUP_PREFIX.to_string());
                    b.push(" AND institution < ").push_bind(crate::governance::ROLLUP_END.to_string());
                }
            }
            b.push(" GROUP BY day, category ORDER BY day, category");
            let mut out = Vec::new();
            for row in b.build().fetch_all(pool).await? {
                let mut c = crate::QualityCounts { day: row.try_get(0)?, category: row.try_get(1)?, ..Default::default() };
                sums_from_row(&row, 2, &mut c)?;
                out.push(c);
            }
            Ok(out)
        }

        /// Quality sums per institution over days `[from, to]` (for rankings).
        pub(crate) async fn quality_by_institution(
            pool: &sqlx::Pool<$db>,
            q: &crate::QualityQuery,
        ) -> crate::Result<Vec<crate::QualityCounts>> {
            use sqlx::Row;
            let mut b: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new(format!("SELECT institution, city, {QUALITY_SUMS} FROM quality_daily WHERE day >= "));
            b.push_bind(q.from).push(" AND day <= ").push_bind(q.to);
            if let Some(c) = &q.city {
                b.push(" AND city = ").push_bind(c.clone());
            }
            b.push(" AND NOT (institution >= ").push_bind(crate::governance::ROLLUP_PREFIX.to_string());
            b.push(" AND institution < ").push_bind(crate::governance::ROLLUP_END.to_string()).push(")");
            b.push(" GROUP BY institution, city ORDER BY institution");
            let mut out = Vec::new();
            for row in b.build().fetch_all(pool).await? {
                let mut c = crate::QualityCounts { institution: row.try_get(0)?, city: row.try_get(1)?, ..Default::default() };
                sums_from_row(&row, 2, &mut c)?;
                out.push(c);
            }
            Ok(out)
        }

        pub(crate) async fn held_entries(
            pool: &sqlx::Pool<$db>,
            institution: &str,
            from: tongdang_core::Timestamp,
            to: tongdang_core::Timestamp,
            category: Option<i16>,
        ) -> crate::Result<Vec<crate::HeldEntry>> {
            use sqlx::Row;
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                "SELECT resource_type, source_id, version, digest, category FROM entries WHERE institution = ",
            );
            b.push_bind(institution.to_string()).push(" AND collected_at >= ").push_bind(from.0).push(" AND collected_at < ").push_bind(to.0);
            if let Some(c) = category {
                b.push(" AND category = ").push_bind(c);
            }
            let rows = b.build().fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::HeldEntry {
                        resource_type: r.try_get(0)?,
                        source_id: r.try_get(1)?,
                        version: r.try_get(2)?,
                        digest: r.try_get(3)?,
                        category: r.try_get(4)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn insert_reconciliation(pool: &sqlx::Pool<$db>, r: &crate::ReconciliationRecord) -> crate::Result<i64> {
            use sqlx::Row;
            let row = sqlx::query(
                "INSERT INTO reconciliations (institution, day, category, submitted_at, submitted_by, listed, held, matched, missing, extra, differing, result)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(&r.institution)
            .bind(r.day)
            .bind(r.category)
            .bind(r.submitted_at.0)
            .bind(&r.submitted_by)
            .bind(r.listed)
            .bind(r.held)
            .bind(r.matched)
            .bind(r.missing)
            .bind(r.extra)
            .bind(r.differing)
            .bind(&r.result)
            .fetch_one(pool)
            .await?;
            Ok(row.try_get(0)?)
        }

        fn reconciliation_from_row(r: &<$db as sqlx::Database>::Row, with_result: bool) -> crate::Result<crate::ReconciliationRecord> {
            use sqlx::Row;
            Ok(crate::ReconciliationRecord {
                id: r.try_get(0)?,
                institution: r.try_get(1)?,
                day: r.try_get(2)?,
                category: r.try_get(3)?,
                submitted_at: tongdang_core::Timestamp(r.try_get(4)?),
                submitted_by: r.try_get(5)?,
                listed: r.try_get(6)?,
                held: r.try_get(7)?,
                matched: r.try_get(8)?,
                missing: r.try_get(9)?,
                extra: r.try_get(10)?,
                differing: r.try_get(11)?,
                result: if with_result { r.try_get(12)? } else { String::new() },
            })
        }

        pub(crate) async fn reconciliations(
            pool: &sqlx::Pool<$db>,
            institutions: Option<&[String]>,
            before: Option<i64>,
            limit: u32,
        ) -> crate::Result<Vec<crate::ReconciliationRecord>> {
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                "SELECT id, institution, day, category, submitted_at, submitted_by, listed, held, matched, missing, extra, differing FROM reconciliations WHERE 1 = 1",
            );
            if let Some(list) = institutions {
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                push_institutions(&mut b, list);
            }
            if let Some(before) = before {
                b.push(" AND id < ").push_bind(before);
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            b.build().fetch_all(pool).await?.iter().map(|r| reconciliation_from_row(r, false)).collect()
        }

        pub(crate) async fn reconciliation(pool: &sqlx::Pool<$db>, id: i64) -> crate::Result<Option<crate::ReconciliationRecord>> {
            let row = sqlx::query(
                "SELECT id, institution, day, category, submitted_at, submitted_by, listed, held, matched, missing, extra, differing, result FROM reconciliations WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(|r| reconciliation_from_row(r, true)).transpose()
        }

        pub(crate) async fn insert_rule_set(pool: &sqlx::Pool<$db>, r: &crate::RuleSetRecord) -> crate::Result<bool> {
            let done = sqlx::query(
                "INSERT INTO rule_sets (version, body, status, trial, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version) DO NOTHING",
            )
            .bind(&r.version)
            .bind(&r.body)
            .bind(&r.status)
            .bind(&r.trial)
            .bind(r.created_at.0)
            .bind(&r.created_by)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn rule_sets(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<crate::RuleSetRecord>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RULE_SET_COLUMNS} FROM rule_sets ORDER BY created_at DESC"))).fetch_all(pool).await?;
            rows.iter().map(rule_set_from_row).collect()
        }

        /// Make one rule set the active one (the others retire) and set up its re-check.
        pub(crate) async fn activate_rule_set(
            pool: &sqlx::Pool<$db>,
            version: &str,
            at: tongdang_core::Timestamp,
            recheck_total: i64,
        ) -> crate::Result<bool> {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE rule_sets SET status = 'retired' WHERE status = 'active' AND version <> $1").bind(version).execute(&mut *tx).await?;
            let done = sqlx::query(
                "UPDATE rule_sets SET status = 'active', activated_at = $1, recheck_total = $2, recheck_done = 0, recheck_returned = 0, recheck_after = 0, recheck_finished_at = NULL WHERE version = $3",
            )
            .bind(at.0)
            .bind(recheck_total)
            .bind(version)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn record_recheck(
            pool: &sqlx::Pool<$db>,
            step: &crate::RecheckStep,
            returns: &[crate::ReturnRecord],
        ) -> crate::Result<bool> {
            let mut tx = pool.begin().await?;
            // Moves the cursor only from where this step started: a second server re-checking
            // the same batch finds it moved and writes nothing.
            let moved = sqlx::query(
                "UPDATE rule_sets SET recheck_done = recheck_done + $1, recheck_returned = recheck_returned + $2, recheck_after = $3, recheck_finished_at = $4
                 WHERE version = $5 AND status = 'active' AND recheck_after = $6 AND recheck_finished_at IS NULL",
            )
            .bind(step.done)
            .bind(step.returned)
            .bind(step.after)
            .bind(step.finished.map(|t| t.0))
            .bind(&step.version)
            .bind(step.from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved != 1 {
                return Ok(false);
            }
            upsert_returns(&mut tx, returns).await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(crate) async fn entries_after(pool: &sqlx::Pool<$db>, after: i64, limit: u32) -> crate::Result<Vec<crate::EntryRecord>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {} FROM entries WHERE id > $1 ORDER BY id LIMIT $2", crate::shared::ENTRY_COLUMNS)))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(crate::shared::entry_from_row).collect()
        }

        pub(crate) async fn entry_id_bounds(pool: &sqlx::Pool<$db>) -> crate::Result<(i64, i64)> {
            use sqlx::Row;
            let row = sqlx::query("SELECT MIN(id), MAX(id) FROM entries").fetch_one(pool).await?;
            Ok((row.try_get::<Option<i64>, _>(0)?.unwrap_or(0), row.try_get::<Option<i64>, _>(1)?.unwrap_or(0)))
        }

        pub(crate) async fn entry_count(pool: &sqlx::Pool<$db>) -> crate::Result<i64> {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM entries").fetch_one(pool).await?)
        }
    };
}

pub(crate) use governance_sql;
