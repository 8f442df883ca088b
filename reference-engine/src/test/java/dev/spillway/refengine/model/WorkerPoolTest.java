package dev.spillway.refengine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {

    @Test
    void shouldRunEveryTaskOnceOnAWorkerOfThePool() {
        for (int threads = 1; threads <= 4; threads++) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                AtomicIntegerArray runs = new AtomicIntegerArray(1000);
                Set<Integer> workers = ConcurrentHashMap.newKeySet();

                pool.forEach(1000, (task, worker) -> {
                    runs.incrementAndGet(task);
                    workers.add(worker);
                });
                pool.forEach(0, (task, worker) -> runs.incrementAndGet(task));

                for (int t = 0; t < 1000; t++) {
                    assertThat(runs.get(t)).as("runs of task %d", t).isEqualTo(1);
                }
                assertThat(workers).allSatisfy(w -> assertThat(w).isBetween(0, pool.threads() - 1));
            }
        }
    }

    @Test
    void shouldRethrowATasksExceptionAfterTheOthersFinish() {
        try (WorkerPool pool = new WorkerPool(3)) {
            assertThatThrownBy(() -> pool.forEach(100, (task, worker) -> {
                if (task == 42) {
                    throw new IllegalStateException("task 42 failed");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("task 42 failed");

            int[] after = new int[1];
            pool.forEach(10, (task, worker) -> {
                synchronized (after) {
                    after[0]++;
                }
            });
            assertThat(after[0]).isEqualTo(10);
        }
    }
}
