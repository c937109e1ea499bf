package dev.outbox.jdbc;

import dev.outbox.InvalidConfigurationException;
import java.util.regex.Pattern;

/**
 * The outbox table's name and optional schema, validated as plain SQL identifiers so that nothing can be
 * injected through them.
 *
 * <p>Each part is 1 to {@value #MAX_NAME_LENGTH} lowercase ASCII letters, digits and underscores, starting
 * with a letter or underscore. Names are always rendered double-quoted, so a reserved word such as
 * {@code user} works as a name.
 *
 * @param schema the schema, or null for the connection's search path
 * @param name the table name
 */
public record OutboxTable(String schema, String name) {

    /** Longest table or schema name; index names add up to 25 characters, within PostgreSQL's 63. */
    public static final int MAX_NAME_LENGTH = 32;

    // Declared before DEFAULT: static fields initialise in order.
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0," + (MAX_NAME_LENGTH - 1) + "}");

    /** {@code outbox_event} on the search path. */
    public static final OutboxTable DEFAULT = new OutboxTable(null, "outbox_event");

    /**
     * @param schema the schema, or null for the search path
     * @param name the table name
     * @throws InvalidConfigurationException when a part is not a valid identifier
     */
    public OutboxTable {
        check("table name", name);
        if (schema != null) {
            check("schema name", schema);
        }
    }

    /**
     * @param name the table name
     * @return the table {@code name} on the search path
     */
    public static OutboxTable named(String name) {
        return new OutboxTable(null, name);
    }

    /** @return the double-quoted, schema-qualified name to use in PostgreSQL's SQL */
    public String qualifiedName() {
        return inSchema(name);
    }

    /**
     * @param database the database the SQL is for
     * @return the quoted, qualified name to use in its SQL: double quotes on PostgreSQL, backquotes on MySQL and
     *         MariaDB, where the schema is the database
     */
    public String qualifiedName(Database database) {
        if (database == Database.POSTGRESQL) {
            return qualifiedName();
        }
        return schema == null ? '`' + name + '`' : '`' + schema + "`.`" + name + '`';
    }

    /**
     * @return the double-quoted, schema-qualified name of the PostgreSQL sequence that gates wake-ups: a relay loop
     *         about to wait sets it back to its start, and the append that draws its first value notifies. This
     *         table's name with {@code _wake} appended
     */
    public String wakeSequenceQualifiedName() {
        String wake = name + "_wake";
        return inSchema(wake);
    }

    /**
     * @return the double-quoted, schema-qualified name of the PostgreSQL sequence that counts re-entries: every
     *         statement that makes events ready again (unparked, released, requeued) draws from it, so that relays
     *         whose claims start past the first position know to look below it. This table's name with
     *         {@code _reentry} appended
     */
    public String reentrySequenceQualifiedName() {
        String reentry = name + "_reentry";
        return inSchema(reentry);
    }

    /**
     * @return the double-quoted, schema-qualified name of the PostgreSQL table that logs re-entries: each draw from
     *         {@link #reentrySequenceQualifiedName()} with the lowest position its statement made ready again, so that
     *         other relays look below their floor from there rather than from the first position. This table's name
     *         with {@code _reentries} appended
     */
    public String reentriesQualifiedName() {
        String reentries = name + "_reentries";
        return inSchema(reentries);
    }

    /**
     * @return the double-quoted, schema-qualified name of the PostgreSQL sequence that says which partition of a
     *         {@linkplain OutboxSchema#postgresRotated(OutboxTable) rotated table} appends go to, and since when (and
     *         of the function of the same name that appends call to read it). This table's name with {@code _slot}
     *         appended
     */
    public String slotSequenceQualifiedName() {
        return inSchema(name + "_slot");
    }

    /**
     * @param slot the partition's number, 0 to {@value PartitionRotation#SLOTS} - 1
     * @return the double-quoted, schema-qualified name of that partition of a
     *         {@linkplain OutboxSchema#postgresRotated(OutboxTable) rotated table}: this table's name with
     *         {@code _p0} to {@code _p3} appended
     */
    public String partitionQualifiedName(int slot) {
        if (slot < 0 || slot >= PartitionRotation.SLOTS) {
            throw new IllegalArgumentException("slot must be from 0 to " + (PartitionRotation.SLOTS - 1) + ", was " + slot);
        }
        return inSchema(name + "_p" + slot);
    }

    /** @return the quoted, qualified name of the index {@code <table>_<suffix>}, for {@code to_regclass} */
    String indexName(String suffix) {
        String index = name + "_" + suffix;
        return inSchema(index);
    }

    /** @return the double-quoted schema followed by a dot, or the empty string for the search path */
    String schemaPrefix() {
        return schema == null ? "" : '"' + schema + "\".";
    }

    private String inSchema(String relation) {
        return schemaPrefix() + '"' + relation + '"';
    }

    /**
     * The channel on which appends notify relays: the unquoted qualified name, or the bare name where that would
     * pass PostgreSQL's 63-character limit. Two tables sharing a channel only wake each other's relays for nothing.
     */
    String channel() {
        String qualified = toString();
        return qualified.length() <= 63 ? qualified : name;
    }

    @Override
    public String toString() {
        return schema == null ? name : schema + "." + name;
    }

    private static void check(String what, String value) {
        if (value == null || !IDENTIFIER.matcher(value).matches()) {
            String shown = value == null ? "null" : "'" + (value.length() > 80 ? value.substring(0, 80) + "..." : value) + "'";
            throw new InvalidConfigurationException(what + " " + shown + " is not allowed: use 1 to "
                    + MAX_NAME_LENGTH + " lowercase letters, digits and underscores, starting with a letter or underscore");
        }
    }
}
