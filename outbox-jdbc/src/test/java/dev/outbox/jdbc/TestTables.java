package dev.outbox.jdbc;

import dev.outbox.testing.TestDatabase;

/** Outbox tables for tests, one per test class, so classes never see each other's events. */
public final class TestTables {

    private TestTables() {
    }

    /** @return a freshly created outbox table with a unique name in the test database */
    public static OutboxTable newTable() {
        OutboxTable table = OutboxTable.named(TestDatabase.uniqueName("t"));
        OutboxSchema.create(TestDatabase.dataSource(), table);
        return table;
    }
}
