package dev.spillway.refengine.model;

import dev.spillway.refengine.Checks;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fixed set of threads that runs the tasks {@code 0 .. n-1} of one parallel step and returns when
 * all are done.
 *
 * <p>The calling thread works too, so {@code threads} threads compute and {@code threads - 1} are
 * pool threads. Tasks are handed out by an atomic counter, so which thread runs which task varies
 * from run to run; callers make every task's result independent of that (each task owns its
 * outputs, and per-thread scratch is indexed by the worker number the task receives).
 */
final class WorkerPool implements AutoCloseable {

    /** One parallel step's body. */
    @FunctionalInterface
    interface Task {
        /**
         * Runs task {@code task} on worker {@code worker} ({@code 0} is the calling thread).
         */
        void run(int task, int worker);
    }

    private final int threads;
    /** Null when {@code threads == 1}: everything runs on the caller. */
    private final ExecutorService executor;

    WorkerPool(int threads) {
        this.threads = Checks.positive("threads", threads);
        this.executor = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, daemonThreads());
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body} for every task in {@code [0, tasks)} and returns when all have finished. The
     * first exception a task throws is rethrown here after every started task has finished; tasks
     * not yet started are then skipped.
     */
    void forEach(int tasks, Task body) {
        int helpers = Math.min(threads - 1, tasks - 1);
        if (helpers <= 0) {
            for (int t = 0; t < tasks; t++) {
                body.run(t, 0);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Future<?>[] running = new Future<?>[helpers];
        for (int h = 0; h < helpers; h++) {
            int worker = h + 1;
            running[h] = executor.submit(() -> drain(tasks, body, worker, next, failure));
        }
        drain(tasks, body, 0, next, failure);
        awaitAll(running);
        Throwable thrown = failure.get();
        if (thrown instanceof RuntimeException e) {
            throw e;
        }
        if (thrown instanceof Error e) {
            throw e;
        }
    }

    /** Stops the pool threads; the pool must not be used afterwards. */
    @Override
    public void close() {
        if (executor != null) {
            executor.close();
        }
    }

    private static void drain(int tasks, Task body, int worker, AtomicInteger next, AtomicReference<Throwable> failure) {
        for (int t = next.getAndIncrement(); t < tasks && failure.get() == null; t = next.getAndIncrement()) {
            try {
                body.run(t, worker);
            } catch (RuntimeException | Error e) {
                failure.compareAndSet(null, e);
            }
        }
    }

    /**
     * Waits for every helper even when interrupted: they write into the caller's buffers, which must
     * not be reused while a helper still runs. The interrupt is kept for the caller.
     */
    private static void awaitAll(Future<?>[] running) {
        boolean interrupted = false;
        for (Future<?> future : running) {
            while (true) {
                try {
                    future.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    throw new IllegalStateException("a model worker failed outside its task", e.getCause());
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static ThreadFactory daemonThreads() {
        return Thread.ofPlatform().daemon().name("spillway-model-worker-", 1).factory();
    }
}
