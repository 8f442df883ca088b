package dev.spillway.memory;

import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves a {@link BlockLease} open, showing where each one was opened. Registered
 * for every test through JUnit's extension auto-detection ({@code junit-platform.properties}).
 */
public final class LeakCheckExtension implements AfterEachCallback {

    @Override
    public void afterEach(ExtensionContext context) {
        List<Throwable> leaks = LeakDetector.drainOpen();
        if (!leaks.isEmpty()) {
            AssertionError error = new AssertionError(context.getDisplayName() + " leaked " + leaks.size()
                    + " block lease(s); each cause below shows where one was opened");
            leaks.forEach(error::addSuppressed);
            throw error;
        }
    }
}
