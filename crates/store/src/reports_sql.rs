//! SQL of evaluation reports and roll-out tracking, the same on both dialects. `reports_sql!`
//! expands into a dialect's `sql` module (after `governance_sql!`, whose quality sums it reuses);
//! the `Store` methods over it are in `shared::store_impls!`.

macro_rules! reports_sql {
    ($db:ty) => {
        const REPORT_META: &str = "id, period, scope, scheduled, generated_at, generated_by, summary, CASE WHEN pdf IS NULL THEN 0 ELSE 1 END";

        fn report_from_row(r: &<$db as sqlx::Database>::Row, full: bool) -> crate::Result<crate::ReportRecord> {
            use sqlx::Row;
            Ok(crate::ReportRecord {
                id: r.try_get(0)?,
                period: r.try_get(1)?,
                scope: r.try_get(2)?,
                scheduled: r.try_get::<i32, _>(3)? != 0,
                generated_at: tongdang_core::Timestamp(r.try_get(4)?),
                generated_by: r.try_get(5)?,
                summary: r.try_get(6)?,
                has_pdf: r.try_get::<i32, _>(7)? != 0,
                html: if full { r.try_get(8)? } else { String::new() },
                pdf: if full { r.try_get(9)? } else { None },
            })
        }

        /// Work-order figures per source over `[from, to)`: one pass over the orders that were
        /// open at some time in the period. Whether an order was unresolved at the period's end is
        /// judged from its resolution time, so a past month's figures do not change later.
        /// Times are µs; handling is summed in seconds.
        pub(crate) async fn work_order_stats(
            pool: &sqlx::Pool<$db>,
            from: tongdang_core::Timestamp,
            to: tongdang_core::Timestamp,
        ) -> crate::Result<Vec<crate::WorkOrderStats>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT source, city,
                    CAST(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN resolved_at >= $1 AND resolved_at < $2 THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN resolved_at >= $1 AND resolved_at < $2 THEN (resolved_at - created_at) / 1000000 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN resolved_at >= $1 AND resolved_at < $2 AND reopen_count > 0 THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN (resolved_at >= $1 AND resolved_at < $2)
                                    OR ((resolved_at IS NULL OR resolved_at >= $2) AND (due_at < $2 OR escalations > 0)) THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN (resolved_at >= $1 AND resolved_at < $2 AND (resolved_at > due_at OR escalations > 0))
                                    OR ((resolved_at IS NULL OR resolved_at >= $2) AND (due_at < $2 OR escalations > 0)) THEN 1 ELSE 0 END) AS BIGINT)
                 FROM work_orders
                 WHERE created_at < $2 AND (resolved_at IS NULL OR resolved_at >= $1)
                 GROUP BY source, city ORDER BY source",
            )
            .bind(from.0)
            .bind(to.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let n = |i: usize| -> crate::Result<i64> { Ok(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0)) };
                    Ok(crate::WorkOrderStats {
                        source: r.try_get(0)?,
                        city: r.try_get(1)?,
                        opened: n(2)?,
                        resolved: n(3)?,
                        handling_seconds: n(4)?,
                        reopened: n(5)?,
                        due: n(6)?,
                        overdue: n(7)?,
                    })
                })
                .collect()
        }

        /// `(institution, rules, count)` of returns opened in `[from, to)`.
        pub(crate) async fn return_problems(
            pool: &sqlx::Pool<$db>,
            from: tongdang_core::Timestamp,
            to: tongdang_core::Timestamp,
        ) -> crate::Result<Vec<(String, String, i64)>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT institution, rules, COUNT(*) FROM returns WHERE opened_at >= $1 AND opened_at < $2 GROUP BY institution, rules",
            )
            .bind(from.0)
            .bind(to.0)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
        }

        /// The cities' rollup rows per day over `[from, to]`, summed over categories.
        pub(crate) async fn quality_rollups(pool: &sqlx::Pool<$db>, from: i32, to: i32) -> crate::Result<Vec<crate::QualityCounts>> {
            use sqlx::Row;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT institution, day, {QUALITY_SUMS} FROM quality_daily
                 WHERE institution >= $1 AND institution < $2 AND day >= $3 AND day <= $4
                 GROUP BY institution, day ORDER BY institution, day"
            )))
            .bind(crate::governance::ROLLUP_PREFIX)
            .bind(crate::governance::ROLLUP_END)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let institution: String = row.try_get(0)?;
                let city = institution.strip_prefix(crate::governance::ROLLUP_PREFIX).unwrap_or_default().to_string();
                let mut c = crate::QualityCounts { institution, city, day: row.try_get(1)?, ..Default::default() };
                sums_from_row(row, 2, &mut c)?;
                out.push(c);
            }
            Ok(out)
        }

        /// Store a report; `None` when a scheduled one of the same period and scope exists.
        pub(crate) async fn insert_report(pool: &sqlx::Pool<$db>, r: &crate::ReportRecord) -> crate::Result<Option<i64>> {
            use sqlx::Row;
            let row = sqlx::query(
                "INSERT INTO reports (period, scope, scheduled, generated_at, generated_by, summary, html, pdf)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&r.period)
            .bind(&r.scope)
            .bind(i32::from(r.scheduled))
            .bind(r.generated_at.0)
            .bind(&r.generated_by)
            .bind(&r.summary)
            .bind(&r.html)
            .bind(r.pdf.as_deref())
            .fetch_optional(pool)
            .await?;
            row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
        }

        /// Reports newest first, without their renderings: of a period, of some scopes.
        pub(crate) async fn reports(
            pool: &sqlx::Pool<$db>,
            period: Option<&str>,
            scopes: Option<&[String]>,
            limit: u32,
        ) -> crate::Result<Vec<crate::ReportRecord>> {
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(format!("SELECT {REPORT_META} FROM reports WHERE 1 = 1"));
            if let Some(p) = period {
                b.push(" AND period = ").push_bind(p.to_string());
            }
            if let Some(scopes) = scopes {
                b.push(" AND scope IN (");
                let mut list = b.separated(", ");
                for s in scopes {
                    list.push_bind(s.clone());
                }
                b.push(")");
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = b.build().fetch_all(pool).await?;
            rows.iter().map(|r| report_from_row(r, false)).collect()
        }

        pub(crate) async fn report(pool: &sqlx::Pool<$db>, id: i64) -> crate::Result<Option<crate::ReportRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REPORT_META}, html, pdf FROM reports WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| report_from_row(&r, true)).transpose()
        }

        pub(crate) async fn has_scheduled_report(pool: &sqlx::Pool<$db>, period: &str, scope: &str) -> crate::Result<bool> {
            let row = sqlx::query("SELECT 1 FROM reports WHERE period = $1 AND scope = $2 AND scheduled = 1")
                .bind(period)
                .bind(scope)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        }

        pub(crate) async fn set_integration_test(pool: &sqlx::Pool<$db>, t: &crate::IntegrationTest) -> crate::Result<()> {
            sqlx::query(
                "INSERT INTO integration_tests (institution, status, note, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (institution) DO UPDATE SET status = excluded.status, note = excluded.note,
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(&t.institution)
            .bind(&t.status)
            .bind(&t.note)
            .bind(t.updated_at.0)
            .bind(&t.updated_by)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(crate) async fn integration_tests(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<crate::IntegrationTest>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT institution, status, note, updated_at, updated_by FROM integration_tests ORDER BY institution")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::IntegrationTest {
                        institution: r.try_get(0)?,
                        status: r.try_get(1)?,
                        note: r.try_get(2)?,
                        updated_at: tongdang_core::Timestamp(r.try_get(3)?),
                        updated_by: r.try_get(4)?,
                    })
                })
                .collect()
        }

        /// First and last receipt day with accepted data, per institution (rollup rows left out).
        pub(crate) async fn source_activity(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<crate::SourceActivity>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT institution, MIN(day), MAX(day) FROM quality_daily
                 WHERE accepted > 0 AND NOT (institution >= $1 AND institution < $2) GROUP BY institution",
            )
            .bind(crate::governance::ROLLUP_PREFIX)
            .bind(crate::governance::ROLLUP_END)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(crate::SourceActivity { institution: r.try_get(0)?, first_day: r.try_get(1)?, last_day: r.try_get(2)? }))
                .collect()
        }

        /// Submissions since `since` of some sources (all when `None`): per minute (`institution`
        /// empty), then per source (`minute` zero). Grouped in SQL: a day of a province is
        /// 1,440 minute rows and one row per source, never one per source and minute.
        pub(crate) async fn submission_flow(
            pool: &sqlx::Pool<$db>,
            since: tongdang_core::Timestamp,
            sources: Option<&[String]>,
        ) -> crate::Result<Vec<crate::SubmissionMinute>> {
            use sqlx::Row;
            let mut out = Vec::new();
            for by_minute in [true, false] {
                let key = if by_minute { "(received_at / 60000000) * 60000000" } else { "institution" };
                let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(format!(
                    "SELECT {key} AS k, COUNT(*), CAST(SUM(read_count) AS BIGINT), CAST(SUM(stored + unchanged) AS BIGINT), CAST(SUM(refused) AS BIGINT) FROM submissions WHERE received_at >= "
                ));
                b.push_bind(since.0);
                if let Some(sources) = sources {
                    if sources.is_empty() {
                        continue;
                    }
                    b.push(" AND institution IN (");
                    let mut list = b.separated(", ");
                    for s in sources {
                        list.push_bind(s.clone());
                    }
                    b.push(")");
                }
                b.push(" GROUP BY k ORDER BY k");
                for r in b.build().fetch_all(pool).await? {
                    let mut m = crate::SubmissionMinute {
                        submissions: r.try_get(1)?,
                        items: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                        accepted: r.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
                        refused: r.try_get::<Option<i64>, _>(4)?.unwrap_or(0),
                        ..Default::default()
                    };
                    if by_minute {
                        m.minute = tongdang_core::Timestamp(r.try_get(0)?);
                    } else {
                        m.institution = r.try_get(0)?;
                    }
                    out.push(m);
                }
            }
            Ok(out)
        }

        /// `(channel, status, count)` of grants created since `since`.
        pub(crate) async fn grant_counts(pool: &sqlx::Pool<$db>, since: tongdang_core::Timestamp) -> crate::Result<Vec<(String, String, i64)>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT channel, status, COUNT(*) FROM grants WHERE created_at >= $1 GROUP BY channel, status ORDER BY channel, status")
                .bind(since.0)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
        }

        /// Institutions holding a key that is not revoked.
        pub(crate) async fn keyed_institutions(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<String>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT DISTINCT institution FROM api_keys WHERE revoked_at IS NULL").fetch_all(pool).await?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        }
    };
}

pub(crate) use reports_sql;
