//! SQL of work orders, the same on both dialects. `work_orders_sql!` expands into a dialect's
//! `sql` module; the `Store` methods over it are in `shared::store_impls!`.

macro_rules! work_orders_sql {
    ($db:ty) => {
        const ORDER_COLUMNS: &str = "id, origin, raised_by, raiser_account, raiser_institution, person_id, source, city, entry_id, period_from, period_to, rule, category, level, assignee, state, sealed, correction, due_at, created_at, updated_at, resolved_at, closed_at, reopen_count, escalations";

        fn order_from_row(r: &<$db as sqlx::Database>::Row) -> crate::Result<crate::WorkOrderRecord> {
            use sqlx::Row;
            use tongdang_core::Timestamp;
            let t = |i: usize| -> crate::Result<Option<Timestamp>> { Ok(r.try_get::<Option<i64>, _>(i)?.map(Timestamp)) };
            Ok(crate::WorkOrderRecord {
                id: r.try_get(0)?,
                origin: r.try_get(1)?,
                raised_by: r.try_get(2)?,
                raiser_account: r.try_get(3)?,
                raiser_institution: r.try_get(4)?,
                person: r.try_get::<Option<i64>, _>(5)?.map(tongdang_core::PersonId),
                source: r.try_get(6)?,
                city: r.try_get(7)?,
                entry: r.try_get(8)?,
                period_from: t(9)?,
                period_to: t(10)?,
                rule: r.try_get(11)?,
                category: r.try_get(12)?,
                level: r.try_get(13)?,
                assignee: r.try_get(14)?,
                state: r.try_get(15)?,
                sealed: r.try_get(16)?,
                correction: r.try_get(17)?,
                due_at: Timestamp(r.try_get(18)?),
                created_at: Timestamp(r.try_get(19)?),
                updated_at: Timestamp(r.try_get(20)?),
                resolved_at: t(21)?,
                closed_at: t(22)?,
                reopen_count: r.try_get(23)?,
                escalations: r.try_get(24)?,
                ..Default::default()
            })
        }

        async fn insert_step(conn: &mut <$db as sqlx::Database>::Connection, order: i64, s: &crate::WorkOrderStep) -> crate::Result<()> {
            sqlx::query(
                "INSERT INTO work_order_steps (order_id, at, actor, action, from_state, to_state, level, assignee, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(order)
            .bind(s.at.0)
            .bind(&s.actor)
            .bind(&s.action)
            .bind(&s.from_state)
            .bind(&s.to_state)
            .bind(&s.level)
            .bind(&s.assignee)
            .bind(&s.sealed)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Insert an order with its first step; `None` when an open quality-check order of the
        /// same source and rule exists already.
        pub(crate) async fn insert_work_order(
            pool: &sqlx::Pool<$db>,
            o: &crate::WorkOrderRecord,
            step: &crate::WorkOrderStep,
        ) -> crate::Result<Option<i64>> {
            use sqlx::Row;
            let mut tx = pool.begin().await?;
            let row = sqlx::query(
                "INSERT INTO work_orders (origin, raised_by, raiser_account, raiser_institution, person_id, source, city, entry_id, period_from, period_to, rule, category, level, assignee, state, sealed, correction, due_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&o.origin)
            .bind(&o.raised_by)
            .bind(o.raiser_account)
            .bind(&o.raiser_institution)
            .bind(o.person.map(|p| p.0))
            .bind(&o.source)
            .bind(&o.city)
            .bind(o.entry)
            .bind(o.period_from.map(|t| t.0))
            .bind(o.period_to.map(|t| t.0))
            .bind(&o.rule)
            .bind(o.category)
            .bind(&o.level)
            .bind(&o.assignee)
            .bind(&o.state)
            .bind(&o.sealed)
            .bind(&o.correction)
            .bind(o.due_at.0)
            .bind(o.created_at.0)
            .bind(o.updated_at.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let id: i64 = row.try_get(0)?;
            insert_step(&mut tx, id, step).await?;
            tx.commit().await?;
            Ok(Some(id))
        }

        pub(crate) async fn work_order(pool: &sqlx::Pool<$db>, id: i64) -> crate::Result<Option<crate::WorkOrderRecord>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(order_from_row).transpose()
        }

        pub(crate) async fn work_orders(pool: &sqlx::Pool<$db>, f: &crate::WorkOrderFilter) -> crate::Result<Vec<crate::WorkOrderRecord>> {
            let mut b: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(format!("SELECT {ORDER_COLUMNS} FROM work_orders WHERE 1 = 1"));
            if let Some(a) = f.raiser_account {
                b.push(" AND raiser_account = ").push_bind(a);
            }
            if let Some(i) = &f.institution {
                b.push(" AND (source = ").push_bind(i.clone()).push(" OR raiser_institution = ").push_bind(i.clone()).push(")");
            }
            if let Some(c) = &f.city {
                b.push(" AND city = ").push_bind(c.clone());
            }
            if let Some((level, assignee)) = &f.assigned {
                b.push(" AND level = ").push_bind(level.clone()).push(" AND assignee = ").push_bind(assignee.clone());
            }
            if let Some(s) = &f.state {
                b.push(" AND state = ").push_bind(s.clone());
            }
            if let Some(p) = f.person {
                b.push(" AND person_id = ").push_bind(p.0);
            }
            if let Some(before) = f.before {
                b.push(" AND id < ").push_bind(before);
            }
            b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(f.limit));
            b.build().fetch_all(pool).await?.iter().map(order_from_row).collect()
        }

        /// Apply a change if the order is still in the expected state.
        pub(crate) async fn change_work_order(pool: &sqlx::Pool<$db>, c: &crate::WorkOrderChange) -> crate::Result<bool> {
            let mut tx = pool.begin().await?;
            let a = &c.after;
            let done = sqlx::query(
                "UPDATE work_orders SET state = $1, level = $2, assignee = $3, due_at = $4, correction = $5, sealed = $6, updated_at = $7,
                 resolved_at = $8, closed_at = $9, reopen_count = $10, escalations = $11 WHERE id = $12 AND state = $13",
            )
            .bind(&a.state)
            .bind(&a.level)
            .bind(&a.assignee)
            .bind(a.due_at.0)
            .bind(&a.correction)
            .bind(&a.sealed)
            .bind(a.updated_at.0)
            .bind(a.resolved_at.map(|t| t.0))
            .bind(a.closed_at.map(|t| t.0))
            .bind(a.reopen_count)
            .bind(a.escalations)
            .bind(c.id)
            .bind(&c.expected_state)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Ok(false);
            }
            insert_step(&mut tx, c.id, &c.step).await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(crate) async fn work_order_steps(pool: &sqlx::Pool<$db>, order: i64) -> crate::Result<Vec<crate::WorkOrderStep>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT id, order_id, at, actor, action, from_state, to_state, level, assignee, sealed FROM work_order_steps WHERE order_id = $1 ORDER BY id",
            )
            .bind(order)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::WorkOrderStep {
                        id: r.try_get(0)?,
                        order: r.try_get(1)?,
                        at: tongdang_core::Timestamp(r.try_get(2)?),
                        actor: r.try_get(3)?,
                        action: r.try_get(4)?,
                        from_state: r.try_get(5)?,
                        to_state: r.try_get(6)?,
                        level: r.try_get(7)?,
                        assignee: r.try_get(8)?,
                        sealed: r.try_get(9)?,
                        note: String::new(),
                    })
                })
                .collect()
        }

        pub(crate) async fn return_clusters(pool: &sqlx::Pool<$db>, min: i64) -> crate::Result<Vec<(String, String, i64)>> {
            use sqlx::Row;
            let rows = sqlx::query(
                "SELECT institution, rules, COUNT(*) FROM returns WHERE status = 'open' GROUP BY institution, rules HAVING COUNT(*) >= $1",
            )
            .bind(min)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
        }

        pub(crate) async fn work_order_counts(pool: &sqlx::Pool<$db>) -> crate::Result<Vec<(String, i64)>> {
            use sqlx::Row;
            let rows = sqlx::query("SELECT state, COUNT(*) FROM work_orders GROUP BY state").fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        }

        /// Orders whose handler's time ran out at `now`, oldest due first.
        pub(crate) async fn overdue_work_orders(
            pool: &sqlx::Pool<$db>,
            now: tongdang_core::Timestamp,
            limit: u32,
        ) -> crate::Result<Vec<crate::WorkOrderRecord>> {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ORDER_COLUMNS} FROM work_orders WHERE state IN ('open', 'accepted', 'in_progress', 'reopened') AND due_at <= $1 ORDER BY due_at LIMIT $2"
            )))
            .bind(now.0)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(order_from_row).collect()
        }
    };
}

pub(crate) use work_orders_sql;
