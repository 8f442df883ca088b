package dev.spillway.refengine.workload;

import dev.spillway.refengine.Checks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Multi-round question answering, shaped as LMCache's {@code multi-round-qa} benchmark: several
 * users each hold a conversation with the engine over several rounds; every prompt starts with
 * one system prompt all users share, then the user's own history, then every earlier question
 * with the engine's answer to it, then the new question.
 *
 * <pre>
 * round r of user u:  [ system | history(u) | q(u,0) a(u,0) | ... | q(u,r-1) a(u,r-1) | q(u,r) ]
 *                       shared   per user      the answers are the engine's own output
 * </pre>
 *
 * <p>The workload is driven by the engine: {@link Conversation#prompt()} gives a round's prompt,
 * the engine generates {@link Settings#answerTokens()} tokens, and
 * {@link Conversation#recordAnswer} appends them, which the next round's prompt then contains.
 * {@link #turns()} is the order requests are sent in: round by round, users in order within a
 * round; any order that keeps each user's rounds in sequence gives the same prompts.
 *
 * <p>Token ids are drawn uniformly from {@code [0, vocab)}, each piece (the system prompt, a
 * user's history, a user's question of a round) from its own stream of the seed, so that two
 * workloads with equal settings hold equal tokens in any JVM. Not thread-safe: one driver.
 */
public final class MultiRoundQa {

    /**
     * The workload's sizes.
     *
     * @param users          conversations, at least 1
     * @param rounds         questions per conversation, at least 1
     * @param systemTokens   the shared system prompt's length, at least 0
     * @param historyTokens  each user's history length, at least 0
     * @param questionTokens each question's length, at least 1
     * @param answerTokens   the tokens the engine generates per answer, at least 1
     * @param vocab          token ids are drawn from {@code [0, vocab)}, at least 1
     * @param seed           seed of every token
     */
    public record Settings(int users, int rounds, int systemTokens, int historyTokens, int questionTokens,
                           int answerTokens, int vocab, long seed) {

        /** LMCache's default: 10 users. */
        public static final int DEFAULT_USERS = 10;
        /** LMCache's default: 5 rounds. */
        public static final int DEFAULT_ROUNDS = 5;
        /** LMCache's default: a 1000-token shared system prompt. */
        public static final int DEFAULT_SYSTEM_TOKENS = 1000;
        /** LMCache's default: 2000 tokens of history per user. */
        public static final int DEFAULT_HISTORY_TOKENS = 2000;
        /**
         * 32 tokens per question: LMCache asks one short sentence per round ("Here's question #r: can
         * you tell me a new long story with a happy ending?"), about 20 to 30 tokens.
         */
        public static final int DEFAULT_QUESTION_TOKENS = 32;
        /** LMCache's default: 100-token answers. */
        public static final int DEFAULT_ANSWER_TOKENS = 100;
        /** The default seed. */
        public static final long DEFAULT_SEED = 1L;

        /** Checks every setting; a bad one fails naming the setting, its value and the minimum. */
        public Settings {
            Checks.positive("MultiRoundQa.users", users);
            Checks.positive("MultiRoundQa.rounds", rounds);
            Checks.notNegative("MultiRoundQa.systemTokens", systemTokens);
            Checks.notNegative("MultiRoundQa.historyTokens", historyTokens);
            Checks.positive("MultiRoundQa.questionTokens", questionTokens);
            Checks.positive("MultiRoundQa.answerTokens", answerTokens);
            Checks.positive("MultiRoundQa.vocab", vocab);
            long longest = (long) systemTokens + historyTokens + (long) rounds * (questionTokens + answerTokens);
            if (longest > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("MultiRoundQa: the last round's prompt would hold " + longest
                        + " tokens, more than an int[] can; reduce the sizes");
            }
        }

        /** Returns the defaults above with token ids in {@code [0, vocab)}. */
        public static Settings defaults(int vocab) {
            return new Settings(DEFAULT_USERS, DEFAULT_ROUNDS, DEFAULT_SYSTEM_TOKENS, DEFAULT_HISTORY_TOKENS,
                    DEFAULT_QUESTION_TOKENS, DEFAULT_ANSWER_TOKENS, vocab, DEFAULT_SEED);
        }

        /**
         * Returns the length of round {@code round}'s prompt when every answer is
         * {@link #answerTokens()} long: {@code system + history + round * (question + answer) + question}.
         */
        public int promptLength(int round) {
            Checks.index("round", round, rounds);
            return systemTokens + historyTokens + round * (questionTokens + answerTokens) + questionTokens;
        }
    }

    /** One request of the workload: user {@code user}'s question of round {@code round}. */
    public record Turn(int round, int user) {
    }

    /** Stream numbers of {@link TokenStreams}: the system prompt, a user's history, a question. */
    private static final long SYSTEM = 0;
    private static final long HISTORY = 1;
    private static final long QUESTION = 2;

    private final Settings settings;
    private final int[] systemPrompt;
    private final List<Conversation> conversations;

    /**
     * Draws the system prompt and every user's history.
     *
     * @throws NullPointerException when {@code settings} is null
     */
    public MultiRoundQa(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.systemPrompt = TokenStreams.tokens(settings.seed(), SYSTEM, 0, settings.systemTokens(), settings.vocab());
        List<Conversation> all = new ArrayList<>(settings.users());
        for (int user = 0; user < settings.users(); user++) {
            all.add(new Conversation(user));
        }
        this.conversations = List.copyOf(all);
    }

    /** Returns the settings. */
    public Settings settings() {
        return settings;
    }

    /** Returns a copy of the system prompt every conversation starts with. */
    public int[] systemPrompt() {
        return systemPrompt.clone();
    }

    /**
     * Returns user {@code user}'s conversation.
     *
     * @throws IndexOutOfBoundsException when {@code user} is not in {@code [0, users)}
     */
    public Conversation conversation(int user) {
        return conversations.get(Checks.index("user", user, settings.users()));
    }

    /** Returns every request in the order to send them: round by round, users in order within a round. */
    public List<Turn> turns() {
        List<Turn> turns = new ArrayList<>(settings.users() * settings.rounds());
        for (int round = 0; round < settings.rounds(); round++) {
            for (int user = 0; user < settings.users(); user++) {
                turns.add(new Turn(round, user));
            }
        }
        return List.copyOf(turns);
    }

    /**
     * One user's conversation: the tokens so far and the round whose question is pending.
     * {@link #prompt()} and {@link #recordAnswer} alternate, once per round.
     */
    public final class Conversation {

        private final int user;
        /** Everything before the pending question: system prompt, history, earlier questions and answers. */
        private int[] context;
        private int contextLength;
        private int round;

        private Conversation(int user) {
            this.user = user;
            int[] history = TokenStreams.tokens(settings.seed(), HISTORY, user, settings.historyTokens(), settings.vocab());
            int last = settings.promptLength(settings.rounds() - 1) + settings.answerTokens();
            this.context = Arrays.copyOf(systemPrompt, last);
            System.arraycopy(history, 0, context, systemPrompt.length, history.length);
            this.contextLength = systemPrompt.length + history.length;
        }

        /** Returns the user's number. */
        public int user() {
            return user;
        }

        /** Returns the round whose question is pending, {@code rounds} once every round is answered. */
        public int round() {
            return round;
        }

        /** Returns whether every round has been answered. */
        public boolean finished() {
            return round == settings.rounds();
        }

        /**
         * Returns the pending round's prompt: system prompt, history, every earlier question and
         * answer, then this round's question. Asking twice before answering returns equal prompts.
         *
         * @throws IllegalStateException when every round has been answered
         */
        public int[] prompt() {
            checkNotFinished();
            int[] question = TokenStreams.tokens(settings.seed(), QUESTION, (long) user * settings.rounds() + round,
                    settings.questionTokens(), settings.vocab());
            int[] prompt = Arrays.copyOf(context, contextLength + question.length);
            System.arraycopy(question, 0, prompt, contextLength, question.length);
            return prompt;
        }

        /**
         * Appends the pending round's question and the engine's answer to the conversation and
         * moves to the next round.
         *
         * @param answer the engine's generated tokens, {@code answerTokens} of them, each in
         *               {@code [0, vocab)}
         * @throws IllegalStateException    when every round has been answered
         * @throws IllegalArgumentException when the answer's length or a token is wrong, naming it
         */
        public void recordAnswer(int[] answer) {
            Objects.requireNonNull(answer, "answer");
            checkNotFinished();
            if (answer.length != settings.answerTokens()) {
                throw new IllegalArgumentException("answer of user " + user + ", round " + round + " has " + answer.length
                        + " tokens, expected answerTokens = " + settings.answerTokens());
            }
            for (int i = 0; i < answer.length; i++) {
                if (answer[i] < 0 || answer[i] >= settings.vocab()) {
                    throw new IllegalArgumentException("answer[" + i + "] = " + answer[i] + " of user " + user + ", round "
                            + round + " is outside the vocabulary [0, " + settings.vocab() + ")");
                }
            }
            int[] prompt = prompt();
            System.arraycopy(prompt, contextLength, context, contextLength, settings.questionTokens());
            contextLength += settings.questionTokens();
            System.arraycopy(answer, 0, context, contextLength, answer.length);
            contextLength += answer.length;
            round++;
        }

        private void checkNotFinished() {
            if (finished()) {
                throw new IllegalStateException("user " + user + " has answered all " + settings.rounds() + " rounds");
            }
        }
    }
}
