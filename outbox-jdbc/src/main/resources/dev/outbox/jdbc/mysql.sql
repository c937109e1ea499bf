-- Outbox table for MySQL 8.0.16 or later and MariaDB 10.6 or later, InnoDB.
--
-- Two placeholders, in the dollar-brace syntax of Flyway and Liquibase, so this file can be copied into a migration
-- as it is: outbox_table is the table, backquoted and possibly database-qualified (`app`.`outbox_event`);
-- outbox_name is its bare name, used to name the indexes. OutboxSchema.mysql(table) fills them in.
--
-- Every time is UTC, from the database's clock (UTC_TIMESTAMP(6)), whatever the session's time zone.

CREATE TABLE IF NOT EXISTS ${outbox_table} (
    -- Append order. Events of one aggregate are published in this order.
    position        BIGINT       NOT NULL AUTO_INCREMENT,
    id              CHAR(36)     CHARACTER SET ascii NOT NULL,
    aggregate_type  VARCHAR(255) NOT NULL,
    aggregate_id    VARCHAR(255) NOT NULL,
    event_type      VARCHAR(255) NOT NULL,
    -- Text, not MySQL's JSON type: JSON re-renders the document (key order, spacing, numbers), this keeps it byte for
    -- byte as appended. Still checked as JSON, and queryable with JSON_VALUE and ->>.
    payload         LONGTEXT     NOT NULL,
    headers         MEDIUMTEXT   NOT NULL DEFAULT ('{}'),
    occurred_at     DATETIME(6)  NOT NULL,
    -- When the event became due: its append, or the end of the delay it was appended with.
    created_at      DATETIME(6)  NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
    -- Not claimed before this time: the retry backoff, or the delay given at append.
    next_attempt_at DATETIME(6)  NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
    -- Set while a pending event is set aside from the claim's walk: until its retry or delay is due, or
    -- 9999-12-31 23:59:59.999999 (for ever) while an earlier event of its aggregate holds it back (dead, backing off,
    -- delayed), until that one is published, requeued or discarded. Null for everything else.
    parked_until    DATETIME(6),
    -- Claims so far, including the one in flight.
    attempts        INT          NOT NULL DEFAULT 0,
    last_error      TEXT,
    -- The current claim: which relay, which batch, until when. A claim whose lease_until has passed is void.
    claimed_by      VARCHAR(255),
    lease_token     CHAR(36)     CHARACTER SET ascii,
    lease_until     DATETIME(6),
    -- Exactly one of these is set once the event is settled; both null means pending.
    published_at    DATETIME(6),
    dead_at         DATETIME(6),
    PRIMARY KEY (position),
    CONSTRAINT ${outbox_name}_id_key UNIQUE (id),
    -- The claim walks the pending events that are not parked, in position order: a backlog that is backing off,
    -- delayed or held behind a dead event costs it nothing, however large (IS NULL is an equality for the index, so
    -- these rows are one stretch of it). Purging walks published events by age.
    INDEX ${outbox_name}_ready (published_at, dead_at, parked_until, position),
    -- Parked events by the time they are due again: the claim reads only those whose time has come; and those
    -- parked for ever by aggregate, released when the event holding them back is published.
    INDEX ${outbox_name}_parked (parked_until, aggregate_type, aggregate_id),
    -- An event's earlier unpublished events of its aggregate, for per-aggregate order.
    INDEX ${outbox_name}_by_aggregate (aggregate_type, aggregate_id, published_at, position),
    INDEX ${outbox_name}_dead (dead_at, position),
    -- Pending events by when they became due: the oldest pending age for stats(), past any delayed events.
    INDEX ${outbox_name}_pending_since (published_at, dead_at, created_at),
    CONSTRAINT ${outbox_name}_payload_json CHECK (JSON_VALID(payload)),
    CONSTRAINT ${outbox_name}_headers_json CHECK (JSON_VALID(headers))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin
