package dev.spillway.refengine.workload;

import dev.spillway.refengine.Checks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Long-document question answering: {@code documents} documents of {@code documentTokens} tokens,
 * each asked {@code repeats} times with a different short question after it, the requests
 * interleaved so that each document comes back only after every other one:
 *
 * <pre>
 * request:   0    1    ..  D-1    D    D+1  ..  2D-1   ..
 * prompt:   d0+q00 d1+q10 .. d(D-1)+q(D-1)0  d0+q01 d1+q11 ..     (q_dr: question r about document d)
 * </pre>
 *
 * <p>An engine whose own prefix cache holds fewer than {@code documents} documents (least
 * recently used first out) has lost a document by the time it returns, so every repeat is a miss
 * for it and a hit for a KV store that kept the document. Requests are independent: answers do
 * not feed later prompts. Token ids are drawn uniformly from {@code [0, vocab)}, each document and
 * each question from its own stream of the seed, so equal settings give equal tokens in any JVM.
 * Immutable.
 */
public final class LongDocQa {

    /**
     * The workload's sizes.
     *
     * @param documents      documents, at least 1
     * @param documentTokens each document's length, at least 1
     * @param repeats        questions per document, at least 1
     * @param questionTokens each question's length, at least 1
     * @param answerTokens   the tokens the engine generates per answer, at least 1
     * @param vocab          token ids are drawn from {@code [0, vocab)}, at least 1
     * @param seed           seed of every token
     */
    public record Settings(int documents, int documentTokens, int repeats, int questionTokens, int answerTokens,
                           int vocab, long seed) {

        /** 8 documents: 32k tokens of documents in all, far more than a small engine cache. */
        public static final int DEFAULT_DOCUMENTS = 8;
        /** 4096 tokens per document, the long prompt the benchmarks time. */
        public static final int DEFAULT_DOCUMENT_TOKENS = 4096;
        /** Each document is asked 3 times: one cold request and two that a KV store can serve. */
        public static final int DEFAULT_REPEATS = 3;
        /** 32 tokens per question, as in {@link MultiRoundQa}. */
        public static final int DEFAULT_QUESTION_TOKENS = 32;
        /** 32-token answers: the workload is about time to first token, not decoding. */
        public static final int DEFAULT_ANSWER_TOKENS = 32;
        /** The default seed. */
        public static final long DEFAULT_SEED = 2L;

        /** Checks every setting; a bad one fails naming the setting, its value and the minimum. */
        public Settings {
            Checks.positive("LongDocQa.documents", documents);
            Checks.positive("LongDocQa.documentTokens", documentTokens);
            Checks.positive("LongDocQa.repeats", repeats);
            Checks.positive("LongDocQa.questionTokens", questionTokens);
            Checks.positive("LongDocQa.answerTokens", answerTokens);
            Checks.positive("LongDocQa.vocab", vocab);
            if ((long) documentTokens + questionTokens > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("LongDocQa: a prompt would hold " + ((long) documentTokens + questionTokens)
                        + " tokens, more than an int[] can; reduce the sizes");
            }
            if ((long) documents * repeats > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("LongDocQa: documents * repeats = " + (long) documents * repeats
                        + " requests exceeds " + Integer.MAX_VALUE);
            }
        }

        /** Returns the defaults above with token ids in {@code [0, vocab)}. */
        public static Settings defaults(int vocab) {
            return new Settings(DEFAULT_DOCUMENTS, DEFAULT_DOCUMENT_TOKENS, DEFAULT_REPEATS, DEFAULT_QUESTION_TOKENS,
                    DEFAULT_ANSWER_TOKENS, vocab, DEFAULT_SEED);
        }
    }

    /**
     * One request: question {@code repeat} about document {@code document}.
     *
     * @param index    the request's place in {@link #requests()}
     * @param document the document asked about
     * @param repeat   which of the document's questions, from 0
     * @param prompt   the document followed by the question
     */
    public record Request(int index, int document, int repeat, int[] prompt) {

        /** Keeps its own copy of the prompt. */
        public Request {
            prompt = prompt.clone();
        }

        /** Returns a copy of the prompt. */
        @Override
        public int[] prompt() {
            return prompt.clone();
        }

        /** Returns whether {@code other} is the same request with an equal prompt. */
        @Override
        public boolean equals(Object other) {
            return other instanceof Request r && index == r.index && document == r.document && repeat == r.repeat
                    && Arrays.equals(prompt, r.prompt);
        }

        /** Returns a hash consistent with {@link #equals}. */
        @Override
        public int hashCode() {
            return Objects.hash(index, document, repeat, Arrays.hashCode(prompt));
        }

        /** Returns the request's numbers and its prompt's length, not its tokens. */
        @Override
        public String toString() {
            return "Request[index=" + index + ", document=" + document + ", repeat=" + repeat + ", prompt=" + prompt.length
                    + " tokens]";
        }
    }

    /** Stream numbers of {@link TokenStreams}: a document, a question. */
    private static final long DOCUMENT = 3;
    private static final long QUESTION = 4;

    private final Settings settings;

    /**
     * Creates the workload; documents are drawn when asked for.
     *
     * @throws NullPointerException when {@code settings} is null
     */
    public LongDocQa(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** Returns the settings. */
    public Settings settings() {
        return settings;
    }

    /**
     * Returns document {@code document}'s tokens.
     *
     * @throws IndexOutOfBoundsException when {@code document} is not in {@code [0, documents)}
     */
    public int[] document(int document) {
        Checks.index("document", document, settings.documents());
        return TokenStreams.tokens(settings.seed(), DOCUMENT, document, settings.documentTokens(), settings.vocab());
    }

    /** Returns every request in the order to send them: repeat by repeat, documents in order within a repeat. */
    public List<Request> requests() {
        int[][] documents = new int[settings.documents()][];
        for (int d = 0; d < documents.length; d++) {
            documents[d] = document(d);
        }
        List<Request> requests = new ArrayList<>(settings.documents() * settings.repeats());
        for (int repeat = 0; repeat < settings.repeats(); repeat++) {
            for (int d = 0; d < documents.length; d++) {
                int[] question = TokenStreams.tokens(settings.seed(), QUESTION, (long) d * settings.repeats() + repeat,
                        settings.questionTokens(), settings.vocab());
                int[] prompt = Arrays.copyOf(documents[d], documents[d].length + question.length);
                System.arraycopy(question, 0, prompt, documents[d].length, question.length);
                requests.add(new Request(requests.size(), d, repeat, prompt));
            }
        }
        return List.copyOf(requests);
    }
}
