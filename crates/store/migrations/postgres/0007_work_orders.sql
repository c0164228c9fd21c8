-- Work orders (工单): problems raised by residents, quality checks, institutions and operators,
-- routed to the data source (or its fused city platform), with every step kept. Free text
-- (title, description, notes) may name a person: it is sealed.

CREATE TABLE work_orders (
    id BIGSERIAL PRIMARY KEY,
    origin TEXT NOT NULL,
    raised_by TEXT NOT NULL,
    raiser_account BIGINT,
    raiser_institution TEXT,
    person_id BIGINT,
    source TEXT NOT NULL,
    city TEXT NOT NULL,
    entry_id BIGINT,
    period_from BIGINT,
    period_to BIGINT,
    rule TEXT,
    category SMALLINT,
    level TEXT NOT NULL,
    assignee TEXT NOT NULL,
    state TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    correction TEXT,
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT,
    closed_at BIGINT,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    escalations INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX work_orders_assignee ON work_orders(level, assignee, id);
CREATE INDEX work_orders_source ON work_orders(source, id);
CREATE INDEX work_orders_city ON work_orders(city, id);
CREATE INDEX work_orders_person ON work_orders(person_id, id);
CREATE INDEX work_orders_due ON work_orders(due_at) WHERE state IN ('open', 'accepted', 'in_progress', 'reopened');
-- One open order per source and quality rule: a class of failures, not one per item.
CREATE UNIQUE INDEX work_orders_rule ON work_orders(source, rule) WHERE rule IS NOT NULL AND state <> 'closed';

CREATE TABLE work_order_steps (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    level TEXT NOT NULL,
    assignee TEXT NOT NULL,
    sealed BYTEA
);
CREATE INDEX work_order_steps_order ON work_order_steps(order_id, id);
