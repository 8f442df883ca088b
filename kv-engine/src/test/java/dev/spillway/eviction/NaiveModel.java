package dev.spillway.eviction;

import static dev.spillway.eviction.EvictionPolicy.NONE;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.function.LongPredicate;

/**
 * A deliberately naive reference for the order-based policies: a plain list of entries with their
 * insertion time, last use and use count, and a victim chosen by a full scan with a comparator. It
 * shares no code with the policies, so that victim-for-victim agreement on random traces checks
 * their data structures.
 */
final class NaiveModel {

    private static final class Entry {
        final long key;
        final long inserted;
        long lastUse;
        long uses = 1;

        Entry(long key, long now) {
            this.key = key;
            this.inserted = now;
            this.lastUse = now;
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Comparator<Entry> victimFirst;
    private long clock;

    private NaiveModel(Comparator<Entry> victimFirst) {
        this.victimFirst = victimFirst;
    }

    static NaiveModel lru() {
        return new NaiveModel(Comparator.comparingLong(entry -> entry.lastUse));
    }

    static NaiveModel fifo() {
        return new NaiveModel(Comparator.comparingLong(entry -> entry.inserted));
    }

    static NaiveModel mru() {
        return new NaiveModel(Comparator.comparingLong(entry -> -entry.lastUse));
    }

    static NaiveModel lfu() {
        return new NaiveModel(Comparator.<Entry>comparingLong(entry -> entry.uses)
                .thenComparingLong(entry -> entry.lastUse));
    }

    boolean contains(long key) {
        return entries.stream().anyMatch(entry -> entry.key == key);
    }

    void insert(long key) {
        entries.add(new Entry(key, ++clock));
    }

    void access(long key) {
        Entry entry = entries.stream().filter(each -> each.key == key).findFirst().orElseThrow();
        entry.lastUse = ++clock;
        entry.uses++;
    }

    void remove(long key) {
        entries.removeIf(entry -> entry.key == key);
    }

    long evict(LongPredicate evictable) {
        Entry victim = entries.stream().filter(entry -> evictable.test(entry.key)).min(victimFirst).orElse(null);
        if (victim == null) {
            return NONE;
        }
        entries.remove(victim);
        return victim.key;
    }

    int size() {
        return entries.size();
    }

    /**
     * Replays one random trace (inserts and hits over a small key space, some removals, evictions
     * under random predicates) on both and asserts that they choose the same victim every time.
     */
    static void assertSameVictims(EvictionPolicy policy, NaiveModel model, long seed) {
        Random random = new Random(seed);
        for (int step = 0; step < 4_000; step++) {
            long key = random.nextInt(64);
            int roll = random.nextInt(20);
            if (roll < 12) {
                if (model.contains(key)) {
                    model.access(key);
                    policy.onAccess(key);
                } else {
                    model.insert(key);
                    policy.onInsert(key, NONE);
                }
            } else if (roll < 13) {
                if (model.contains(key)) {
                    model.remove(key);
                    policy.onRemove(key);
                }
            } else {
                long rejected = roll < 16 ? 0L : random.nextLong() & random.nextLong();
                LongPredicate evictable = candidate -> ((rejected >>> candidate) & 1L) == 0;
                assertThat(policy.evict(evictable))
                        .as("victim at step %d of seed %d", step, seed)
                        .isEqualTo(model.evict(evictable));
            }
            assertThat(policy.size()).isEqualTo(model.size());
        }
    }
}
