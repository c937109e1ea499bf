package dev.outbox.benchmarks;

/**
 * One line of the results table: a figure of ours beside a baseline measured in the same run.
 *
 * @param benchmark what was measured
 * @param ours our figure, with its unit
 * @param baseline what it is compared with, with its unit
 * @param ratio ours against the baseline, as the benchmark defines it
 * @param target the target for the ratio or figure, or "-" where there is none
 */
record Row(String benchmark, String ours, String baseline, String ratio, String target) {
}
