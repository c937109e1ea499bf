package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The send window: untouched by a little random throttling, small under heavy throttling, whole again after. */
class SendWindowTest {

    /** Feeds the window {@code calls} calls of its own size, each event throttled with {@code share}. */
    static void feed(SendWindow window, int calls, double share, Random random) {
        for (int i = 0; i < calls; i++) {
            int sent = window.size();
            int throttled = 0;
            for (int e = 0; e < sent; e++) {
                throttled += random.nextDouble() < share ? 1 : 0;
            }
            window.answered(sent, throttled);
        }
    }

    @Test
    void aFewPercentThrottledAtRandomLeavesTheWindowWhole() {
        SendWindow window = new SendWindow(40);
        feed(window, 1000, 0.02, new Random(1));
        assertEquals(40, window.size());
        feed(window, 1000, 0.10, new Random(2));
        assertTrue(window.size() >= 36, "10 % at random: " + window.size());
    }

    @Test
    void heavyThrottlingShrinksTheWindowAndItGrowsBackWhenItEnds() {
        SendWindow window = new SendWindow(40);
        feed(window, 50, 0.8, new Random(3));
        assertTrue(window.size() <= 4, "80 % throttled: " + window.size());
        window.answered(window.size(), window.size());
        assertTrue(window.size() >= 1, "never below one event a round");
        feed(window, 30, 0, new Random(4));
        assertEquals(40, window.size(), "whole again once calls go through");
    }

    @Test
    void thePauseOfAThrottledEventGrowsWithTheShareThrottled() {
        SendWindow window = new SendWindow(40);
        window.answered(40, 1);
        long light = window.pauseMillis();
        window.answered(40, 40);
        long heavy = window.pauseMillis();
        assertTrue(light >= 80 && light <= 150, "a few throttled: about 100 ms, was " + light);
        assertTrue(heavy >= 1_200 && heavy <= 2_000, "all throttled: about 1.6 s, was " + heavy);
    }
}
