package dev.spillway.storage.redis.testing;

import java.util.List;
import java.util.stream.Collectors;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class whose Netty buffers leaked: a buffer that is garbage collected without having
 * been released is otherwise only an ERROR line in the log. Netty's leak detector (its level
 * raised to PARANOID, so every buffer is tracked; the module's surefire configuration also sets
 * {@code io.netty.leakDetection.level}) reports a leak when a later buffer is allocated after the
 * leaked one was collected, so after the class (and its {@code @AfterAll}, which closes its
 * backends) this collects garbage and allocates until the reports are in, and fails on any.
 */
public final class NettyLeakCheck implements BeforeAllCallback, AfterAllCallback {

    private static final String DETECTOR_LOGGER = ResourceLeakDetector.class.getName();

    private ListAppender<ILoggingEvent> appender;

    @Override
    public void beforeAll(ExtensionContext context) {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        appender = new ListAppender<>();
        appender.start();
        Logger logger = (Logger) LoggerFactory.getLogger(DETECTOR_LOGGER);
        logger.setLevel(Level.ERROR);
        logger.addAppender(appender);
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        Logger logger = (Logger) LoggerFactory.getLogger(DETECTOR_LOGGER);
        try {
            for (int round = 0; round < 5; round++) {
                System.gc();
                Thread.sleep(50);
                for (int i = 0; i < 50; i++) {
                    ByteBufAllocator.DEFAULT.directBuffer(16).release();
                }
            }
            List<String> leaks = appender.list.stream()
                    .filter(event -> event.getLevel().isGreaterOrEqual(Level.ERROR))
                    .map(ILoggingEvent::getFormattedMessage)
                    .collect(Collectors.toList());
            if (!leaks.isEmpty()) {
                throw new AssertionError(leaks.size() + " Netty buffer leak(s) in " + context.getDisplayName()
                        + ":\n" + String.join("\n\n", leaks));
            }
        } finally {
            logger.detachAppender(appender);
            appender.stop();
        }
    }
}
