package dev.outbox.benchmarks;

import java.util.Locale;

/** How figures are written in the table. */
final class Format {

    private Format() {
    }

    static String rate(double perSecond, String unit) {
        return String.format(Locale.ROOT, "%,.0f %s", perSecond, unit);
    }

    static String ratio(double ratio) {
        return String.format(Locale.ROOT, "%.2fx", ratio);
    }

    static String millis(double millis) {
        return millis < 10 ? String.format(Locale.ROOT, "%.1f ms", millis) : String.format(Locale.ROOT, "%,.0f ms", millis);
    }
}
