package dev.spillway.refengine.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.refengine.workload.MultiRoundQa.Conversation;
import dev.spillway.refengine.workload.MultiRoundQa.Settings;
import dev.spillway.refengine.workload.MultiRoundQa.Turn;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MultiRoundQaTest {

    private static final Settings SMALL = new Settings(3, 4, 50, 70, 8, 5, 1000, 9L);

    /** A stand-in for the engine: an answer that depends on the whole prompt, as a model's does. */
    private static int[] answer(int[] prompt, int length, int vocab) {
        int[] answer = new int[length];
        int h = Arrays.hashCode(prompt);
        for (int i = 0; i < length; i++) {
            h = h * 31 + i;
            answer[i] = Math.floorMod(h, vocab);
        }
        return answer;
    }

    /** Runs every turn in order and returns each turn's prompt. */
    private static Map<Turn, int[]> drive(MultiRoundQa qa) {
        Map<Turn, int[]> prompts = new HashMap<>();
        for (Turn turn : qa.turns()) {
            Conversation conversation = qa.conversation(turn.user());
            assertThat(conversation.round()).isEqualTo(turn.round());
            int[] prompt = conversation.prompt();
            prompts.put(turn, prompt);
            conversation.recordAnswer(answer(prompt, qa.settings().answerTokens(), qa.settings().vocab()));
        }
        return prompts;
    }

    @Test
    void shouldUseLmCachesDefaultsAndA32TokenQuestion() {
        Settings defaults = Settings.defaults(2048);

        assertThat(defaults).isEqualTo(new Settings(10, 5, 1000, 2000, 32, 100, 2048, 1L));
        assertThat(defaults.promptLength(0)).isEqualTo(3032);
        assertThat(defaults.promptLength(4)).isEqualTo(3000 + 4 * 132 + 32);
    }

    @Test
    void shouldOrderRequestsRoundByRoundAndUsersInOrderWithinARound() {
        List<Turn> turns = new MultiRoundQa(SMALL).turns();

        assertThat(turns).hasSize(12);
        assertThat(turns.subList(0, 4)).containsExactly(new Turn(0, 0), new Turn(0, 1), new Turn(0, 2), new Turn(1, 0));
        assertThat(turns.get(11)).isEqualTo(new Turn(3, 2));
    }

    @Test
    void shouldBuildEachPromptFromTheSystemPromptTheHistoryEveryEarlierQuestionAndAnswerAndTheNewQuestion() {
        MultiRoundQa qa = new MultiRoundQa(SMALL);
        Map<Turn, int[]> prompts = drive(qa);
        int shared = SMALL.systemTokens();
        int perUser = shared + SMALL.historyTokens();

        for (Turn turn : qa.turns()) {
            int[] prompt = prompts.get(turn);
            assertThat(prompt).hasSize(SMALL.promptLength(turn.round()));
            assertThat(Arrays.stream(prompt).boxed().toList()).allSatisfy(t -> assertThat(t).isBetween(0, SMALL.vocab() - 1));
            assertThat(Arrays.copyOf(prompt, shared)).as("system prompt").isEqualTo(qa.systemPrompt());
            if (turn.round() > 0) {
                int[] previous = prompts.get(new Turn(turn.round() - 1, turn.user()));
                int[] answer = answer(previous, SMALL.answerTokens(), SMALL.vocab());
                // The previous prompt, then the engine's answer to it, then the new question.
                assertThat(Arrays.copyOf(prompt, previous.length)).isEqualTo(previous);
                assertThat(Arrays.copyOfRange(prompt, previous.length, previous.length + answer.length)).isEqualTo(answer);
            }
            for (int other = 0; other < SMALL.users(); other++) {
                if (other != turn.user()) {
                    int[] theirs = prompts.get(new Turn(turn.round(), other));
                    assertThat(commonPrefix(prompt, theirs)).as("prefix shared by users %d and %d", turn.user(), other)
                            .isBetween(shared, perUser - 1);
                }
            }
        }
        assertThat(qa.conversation(0).finished()).isTrue();
    }

    @Test
    void shouldDrawTheSameTokensFromTheSameSeedInAnyOrderAndOthersFromAnotherSeed() {
        MultiRoundQa inOrder = new MultiRoundQa(SMALL);
        Map<Turn, int[]> expected = drive(inOrder);
        MultiRoundQa userByUser = new MultiRoundQa(SMALL);
        List<int[]> prompts = new ArrayList<>();
        for (int user = SMALL.users() - 1; user >= 0; user--) {
            Conversation conversation = userByUser.conversation(user);
            for (int round = 0; round < SMALL.rounds(); round++) {
                int[] prompt = conversation.prompt();
                assertThat(conversation.prompt()).as("asked twice").isEqualTo(prompt);
                assertThat(prompt).isEqualTo(expected.get(new Turn(round, user)));
                prompts.add(prompt);
                conversation.recordAnswer(answer(prompt, SMALL.answerTokens(), SMALL.vocab()));
            }
        }
        MultiRoundQa reseeded = new MultiRoundQa(new Settings(3, 4, 50, 70, 8, 5, 1000, 10L));

        assertThat(reseeded.systemPrompt()).isNotEqualTo(inOrder.systemPrompt());
        assertThat(reseeded.conversation(0).prompt()).isNotEqualTo(expected.get(new Turn(0, 0)));
        assertThat(prompts).hasSize(12);
    }

    @Test
    void shouldRejectAWrongAnswerOrARoundPastTheLast() {
        MultiRoundQa qa = new MultiRoundQa(new Settings(1, 1, 0, 0, 2, 3, 10, 1L));
        Conversation conversation = qa.conversation(0);

        assertThat(conversation.prompt()).hasSize(2);
        assertThatThrownBy(() -> conversation.recordAnswer(new int[] {1, 2}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("answer of user 0, round 0 has 2 tokens, expected answerTokens = 3");
        assertThatThrownBy(() -> conversation.recordAnswer(new int[] {1, 10, 2}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("answer[1] = 10 of user 0, round 0 is outside the vocabulary [0, 10)");
        conversation.recordAnswer(new int[] {1, 2, 3});
        assertThatThrownBy(conversation::prompt)
                .isInstanceOf(IllegalStateException.class).hasMessage("user 0 has answered all 1 rounds");
        assertThatThrownBy(() -> qa.conversation(1))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("user = 1 is outside the valid range [0, 1)");
    }

    @Test
    void shouldRejectBadSettingsNamingThem() {
        assertThatThrownBy(() -> new Settings(0, 5, 1000, 2000, 32, 100, 2048, 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("MultiRoundQa.users = 0 must be at least 1");
        assertThatThrownBy(() -> new Settings(10, 5, -1, 2000, 32, 100, 2048, 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("MultiRoundQa.systemTokens = -1 must not be negative");
        assertThatThrownBy(() -> new Settings(10, 5, 1000, 2000, 0, 100, 2048, 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("MultiRoundQa.questionTokens = 0 must be at least 1");
        assertThatThrownBy(() -> new Settings(10, 100_000, 1000, 2000, 32, 100_000, 2048, 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than an int[] can");
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = 0;
        while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
            n++;
        }
        return n;
    }
}
