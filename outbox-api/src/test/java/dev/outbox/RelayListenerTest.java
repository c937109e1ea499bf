package dev.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelayListenerTest {

    @Test
    void allTellsEveryListenerInOrderEvenAfterOneThrows() {
        List<String> heard = new ArrayList<>();
        RelayListener throwing = new RelayListener() {
            @Override
            public void claimed(int events, Duration elapsed) {
                heard.add("first " + events);
                throw new IllegalStateException("boom");
            }
        };
        RelayListener second = new RelayListener() {
            @Override
            public void claimed(int events, Duration elapsed) {
                heard.add("second " + events);
            }

            @Override
            public void dead(Event event, int attempts, String reason) {
                heard.add("dead " + reason);
            }
        };
        RelayListener all = RelayListener.all(throwing, second);
        all.claimed(3, Duration.ofMillis(1));
        all.rejected(Event.of("order", "1", "placed", "{}"), 1, "rejected: too big");
        assertEquals(List.of("first 3", "second 3", "dead rejected: too big"), heard,
                "a listener implementing only dead() hears rejected events through the default");
    }

    @Test
    void allRefusesNull() {
        assertThrows(InvalidConfigurationException.class, () -> RelayListener.all((RelayListener[]) null));
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> RelayListener.all(RelayListener.NONE, null));
        assertEquals("listeners[1] is null", e.getMessage());
    }
}
