package dev.spillway.refengine.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.spillway.refengine.workload.LongDocQa.Request;
import dev.spillway.refengine.workload.LongDocQa.Settings;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class LongDocQaTest {

    private static final Settings SMALL = new Settings(4, 300, 3, 10, 5, 500, 3L);

    @Test
    void shouldDocumentItsDefaults() {
        assertThat(Settings.defaults(2048)).isEqualTo(new Settings(8, 4096, 3, 32, 32, 2048, 2L));
    }

    @Test
    void shouldInterleaveTheDocumentsSoThatEachReturnsAfterAllOthers() {
        List<Request> requests = new LongDocQa(SMALL).requests();

        assertThat(requests).hasSize(12);
        for (int i = 0; i < requests.size(); i++) {
            Request request = requests.get(i);
            assertThat(request.index()).isEqualTo(i);
            assertThat(request.document()).isEqualTo(i % 4);
            assertThat(request.repeat()).isEqualTo(i / 4);
        }
    }

    @Test
    void shouldPutTheDocumentThenADifferentQuestionInEveryPrompt() {
        LongDocQa qa = new LongDocQa(SMALL);
        List<Request> requests = qa.requests();

        for (Request request : requests) {
            int[] prompt = request.prompt();
            assertThat(prompt).hasSize(310);
            assertThat(Arrays.stream(prompt).boxed().toList()).allSatisfy(t -> assertThat(t).isBetween(0, 499));
            assertThat(Arrays.copyOf(prompt, 300)).isEqualTo(qa.document(request.document()));
            for (Request other : requests) {
                if (other != request) {
                    assertThat(commonPrefix(prompt, other.prompt())).as("%s and %s", request, other)
                            .isLessThan(other.document() == request.document() ? 310 : 10);
                }
            }
        }
        assertThat(requests.get(5).prompt()).startsWith(qa.document(1)).isNotEqualTo(requests.get(1).prompt());
    }

    @Test
    void shouldDrawTheSameTokensFromTheSameSeedAndOthersFromAnother() {
        assertThat(new LongDocQa(SMALL).requests()).isEqualTo(new LongDocQa(SMALL).requests());
        assertThat(new LongDocQa(new Settings(4, 300, 3, 10, 5, 500, 4L)).document(0))
                .isNotEqualTo(new LongDocQa(SMALL).document(0));
    }

    @Test
    void shouldKeepItsOwnCopyOfAPrompt() {
        Request request = new LongDocQa(SMALL).requests().get(0);
        int[] prompt = request.prompt();
        prompt[0] = -1;

        assertThat(request.prompt()[0]).isNotEqualTo(-1);
        assertThat(request).hasToString("Request[index=0, document=0, repeat=0, prompt=310 tokens]");
    }

    @Test
    void shouldRejectBadSettingsNamingThem() {
        assertThatThrownBy(() -> new Settings(0, 4096, 3, 32, 32, 2048, 2L))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("LongDocQa.documents = 0 must be at least 1");
        assertThatThrownBy(() -> new Settings(8, 4096, 3, 32, 0, 2048, 2L))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("LongDocQa.answerTokens = 0 must be at least 1");
        assertThatThrownBy(() -> new LongDocQa(SMALL).document(4))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("document = 4 is outside the valid range [0, 4)");
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = 0;
        while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
            n++;
        }
        return n;
    }
}
