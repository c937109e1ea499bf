package dev.outbox.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The broker circuit: closed, open for a growing pause, one probe when the pause is over. */
class BrokerCircuitTest {

    final BrokerCircuit circuit = new BrokerCircuit("r1", Duration.ofMillis(20), Duration.ofMillis(40));

    static void sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
    }

    @Test
    void anUnavailableBrokerPausesClaimsAndOneProbeFollowsThePause() throws Exception {
        assertEquals(BrokerCircuit.Admission.GRANTED, circuit.admit());
        circuit.unavailable("503");
        assertEquals(JdbcRelay.BrokerState.OPEN, circuit.state());
        assertEquals(BrokerCircuit.Admission.REFUSED, circuit.admit());
        sleep(30);
        assertEquals(BrokerCircuit.Admission.PROBE, circuit.admit());
        assertEquals(BrokerCircuit.Admission.REFUSED, circuit.admit(), "one probe at a time");
        circuit.wentThrough();
        assertEquals(JdbcRelay.BrokerState.CLOSED, circuit.state());
        assertNull(circuit.reason());
        assertEquals(BrokerCircuit.Admission.GRANTED, circuit.admit());
    }

    @Test
    void aProbeThatEndsWithoutAnAnswerLetsTheNextBatchProbe() throws Exception {
        circuit.unavailable("503");
        sleep(30);
        assertEquals(BrokerCircuit.Admission.PROBE, circuit.admit());
        circuit.probeEnded(); // the batch failed, or found nothing: no word on the broker
        assertEquals(BrokerCircuit.Admission.PROBE, circuit.admit());
    }

    @Test
    void aProbeTheBrokerStillRefusesPausesLongerUpToTheMaximum() throws Exception {
        circuit.unavailable("503");
        sleep(30);
        assertEquals(BrokerCircuit.Admission.PROBE, circuit.admit());
        circuit.unavailable("503");
        sleep(30);
        assertEquals(BrokerCircuit.Admission.REFUSED, circuit.admit(), "the pause doubled to 40 ms");
        sleep(20);
        assertEquals(BrokerCircuit.Admission.PROBE, circuit.admit());
        assertEquals("503", circuit.reason());
    }
}
