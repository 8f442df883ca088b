package dev.spillway.transfer;

import static dev.spillway.transfer.Hop.BACKEND_READ;
import static dev.spillway.transfer.Hop.BACKEND_WRITE;
import static dev.spillway.transfer.Hop.DEVICE_TO_HOST;
import static dev.spillway.transfer.Hop.GATHER;
import static dev.spillway.transfer.Hop.HOST_TO_DEVICE;
import static dev.spillway.transfer.Hop.SCATTER;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Pins the whole source × destination matrix: a change to any plan must change this table. */
class TransferPlannerTest {

    private static final List<Hop> NONE = List.of();

    @Test
    void shouldPlanEveryPairExactlyAsDesigned() {
        Map<Location, List<List<Hop>>> expected = new EnumMap<>(Location.class);
        // columns: DEVICE_TIER, HOST_TIER, LOCAL_TIER, REMOTE_TIER, ENGINE
        expected.put(Location.DEVICE_TIER, List.of(NONE, List.of(DEVICE_TO_HOST),
                List.of(DEVICE_TO_HOST, BACKEND_WRITE), List.of(DEVICE_TO_HOST, BACKEND_WRITE), List.of(SCATTER)));
        expected.put(Location.HOST_TIER, List.of(List.of(HOST_TO_DEVICE), NONE,
                List.of(BACKEND_WRITE), List.of(BACKEND_WRITE), List.of(HOST_TO_DEVICE, SCATTER)));
        expected.put(Location.LOCAL_TIER, List.of(List.of(BACKEND_READ, HOST_TO_DEVICE), List.of(BACKEND_READ),
                NONE, List.of(BACKEND_READ, BACKEND_WRITE), List.of(BACKEND_READ, HOST_TO_DEVICE, SCATTER)));
        expected.put(Location.REMOTE_TIER, List.of(List.of(BACKEND_READ, HOST_TO_DEVICE), List.of(BACKEND_READ),
                List.of(BACKEND_READ, BACKEND_WRITE), NONE, List.of(BACKEND_READ, HOST_TO_DEVICE, SCATTER)));
        expected.put(Location.ENGINE, List.of(List.of(GATHER), List.of(GATHER, DEVICE_TO_HOST),
                List.of(GATHER, DEVICE_TO_HOST, BACKEND_WRITE), List.of(GATHER, DEVICE_TO_HOST, BACKEND_WRITE), NONE));
        for (Location source : Location.values()) {
            for (Location destination : Location.values()) {
                assertThat(TransferPlanner.strategyFor(source, destination))
                        .as("%s -> %s", source, destination)
                        .isEqualTo(expected.get(source).get(destination.ordinal()));
            }
        }
    }

    @Test
    void shouldNeverLetABackendTouchDeviceMemory() {
        for (Location source : Location.values()) {
            for (Location destination : Location.values()) {
                List<Hop> plan = TransferPlanner.strategyFor(source, destination);
                for (int i = 1; i < plan.size(); i++) {
                    if (plan.get(i) == BACKEND_WRITE) {
                        assertThat(plan.get(i - 1)).as("%s -> %s", source, destination).isIn(DEVICE_TO_HOST, BACKEND_READ);
                    }
                    if (plan.get(i - 1) == BACKEND_READ) {
                        assertThat(plan.get(i)).isIn(HOST_TO_DEVICE, BACKEND_WRITE);
                    }
                }
            }
        }
    }
}
