package dev.spillway.connector;

/**
 * A request as the scheduler side of the connector sees it: its id and its prompt.
 *
 * @param id           unique among the requests alive at once
 * @param promptTokens the prompt's token ids; the connector neither keeps nor changes the array
 *                     beyond the request's life, and the caller must not change it meanwhile
 */
public record ConnectorRequest(String id, int[] promptTokens) {

    /** Checks both fields. */
    public ConnectorRequest {
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("ConnectorRequest.id='" + id + "': expected a non-empty id");
        }
        if (promptTokens == null || promptTokens.length == 0) {
            throw new IllegalArgumentException("ConnectorRequest.promptTokens of request " + id
                    + ": expected at least one token");
        }
    }
}
