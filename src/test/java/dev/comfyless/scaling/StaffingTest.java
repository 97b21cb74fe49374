package dev.comfyless.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StaffingTest {

    /** Erlang C from its textbook form (factorials), for the smallest c with P(wait > t) <= miss. */
    private static int reference(double rate, double run, double target, double miss) {
        double a = rate * run;
        for (int c = 1; c < 100; c++) {
            if (c <= a) {
                continue;
            }
            double sum = 0;
            double term = 1;
            for (int k = 0; k < c; k++) {
                sum += term; // a^k / k!
                term *= a / (k + 1);
            }
            double top = term * c / (c - a); // a^c / c! * c / (c - a)
            double erlangC = top / (sum + top);
            if (erlangC * Math.exp(-(c - a) * target / run) <= miss) {
                return c;
            }
        }
        return 100;
    }

    @Test
    void matchesTheTextbookFormula() {
        for (double rate : new double[] {0.01, 0.067, 0.1, 0.133, 0.4, 1.2}) {
            for (double target : new double[] {0, 10, 30, 60}) {
                assertThat(Staffing.workers(rate, 16.8, target, 0.05, 1000)).as(rate + "/s, " + target + " s")
                        .isEqualTo(reference(rate, 16.8, target, 0.05));
            }
        }
        // the reference table: 0.1 tasks/s of 16.8 s needs 5 workers for no wait, 3 for a minute
        assertThat(Staffing.workers(0.1, 16.8, 0, 0.05, 100)).isEqualTo(5);
        assertThat(Staffing.workers(0.1, 16.8, 60, 0.05, 100)).isEqualTo(3);
    }

    @Test
    void moreArrivalsNeedMoreWorkersALongerTargetFewer() {
        int previous = 0;
        for (double rate = 0.05; rate < 2; rate += 0.05) {
            int c = Staffing.workers(rate, 16.8, 30, 0.05, 1000);
            assertThat(c).isGreaterThanOrEqualTo(previous);
            previous = c;
        }
        assertThat(Staffing.workers(0.4, 16.8, 120, 0.05, 100))
                .isLessThanOrEqualTo(Staffing.workers(0.4, 16.8, 0, 0.05, 100));
    }

    @Test
    void noArrivalsNeedNoWorkerAndTheAnswerIsCappedAtTheMaximum() {
        assertThat(Staffing.workers(0, 16.8, 0, 0.05, 10)).isZero();
        assertThat(Staffing.workers(5, 16.8, 0, 0.05, 10)).isEqualTo(10);
    }
}
