package dev.spillway.transfer;

import java.util.List;

/**
 * Says how bytes move from one {@link Location} to another, as the ordered hops that carry them.
 * It is a total function: every pair has a plan, and one test pins the whole matrix.
 *
 * <p>The rules behind the matrix:
 * <ul>
 *   <li>The engine's paged cache is never copied as is: its tokens are scattered across blocks, so
 *       every path out of it starts with {@link Hop#GATHER} and every path in ends with
 *       {@link Hop#SCATTER}, both on the device.</li>
 *   <li>Host memory is the only meeting point of the device and the backends: a backend never
 *       reads or writes device memory, and an async device copy only touches pinned host memory, so
 *       every device-to-backend path stages in G2.</li>
 *   <li>Device-side staging between a copy and a kernel is the transfer engine's own buffer, not a
 *       hop of its own.</li>
 * </ul>
 */
public final class TransferPlanner {

    private TransferPlanner() {
    }

    /** Returns the hops from {@code source} to {@code destination}; empty when they are the same. */
    public static List<Hop> strategyFor(Location source, Location destination) {
        if (source == destination) {
            return List.of();
        }
        return switch (source) {
            case ENGINE -> switch (destination) {
                case DEVICE_TIER -> List.of(Hop.GATHER);
                case HOST_TIER -> List.of(Hop.GATHER, Hop.DEVICE_TO_HOST);
                case LOCAL_TIER, REMOTE_TIER -> List.of(Hop.GATHER, Hop.DEVICE_TO_HOST, Hop.BACKEND_WRITE);
                case ENGINE -> List.of();
            };
            case DEVICE_TIER -> switch (destination) {
                case ENGINE -> List.of(Hop.SCATTER);
                case HOST_TIER -> List.of(Hop.DEVICE_TO_HOST);
                case LOCAL_TIER, REMOTE_TIER -> List.of(Hop.DEVICE_TO_HOST, Hop.BACKEND_WRITE);
                case DEVICE_TIER -> List.of();
            };
            case HOST_TIER -> switch (destination) {
                case ENGINE -> List.of(Hop.HOST_TO_DEVICE, Hop.SCATTER);
                case DEVICE_TIER -> List.of(Hop.HOST_TO_DEVICE);
                case LOCAL_TIER, REMOTE_TIER -> List.of(Hop.BACKEND_WRITE);
                case HOST_TIER -> List.of();
            };
            case LOCAL_TIER, REMOTE_TIER -> switch (destination) {
                case ENGINE -> List.of(Hop.BACKEND_READ, Hop.HOST_TO_DEVICE, Hop.SCATTER);
                case DEVICE_TIER -> List.of(Hop.BACKEND_READ, Hop.HOST_TO_DEVICE);
                case HOST_TIER -> List.of(Hop.BACKEND_READ);
                case LOCAL_TIER, REMOTE_TIER -> List.of(Hop.BACKEND_READ, Hop.BACKEND_WRITE);
            };
        };
    }
}
