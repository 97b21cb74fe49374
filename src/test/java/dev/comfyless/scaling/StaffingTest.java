package dev.comfyless.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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

    @Test
    void theReferenceItselfGivesTheTabulatedErlangCValues() {
        // a = 2 erlangs: C(3, 2) = 4/9, C(4, 2) = 4/23, C(5, 2) = 4/67, C(6, 2) = 2/111 (factorial sums by hand)
        assertThat(erlangC(3, 2)).isCloseTo(4.0 / 9, within(1e-12));
        assertThat(erlangC(4, 2)).isCloseTo(4.0 / 23, within(1e-12));
        assertThat(erlangC(5, 2)).isCloseTo(4.0 / 67, within(1e-12));
        assertThat(erlangC(6, 2)).isCloseTo(2.0 / 111, within(1e-12));
    }

    /** Erlang C by the factorial sum: (a^c / c! * c / (c - a)) / (sum_{k < c} a^k / k! + a^c / c! * c / (c - a)). */
    private static double erlangC(int c, double a) {
        double sum = 0;
        for (int k = 0; k < c; k++) {
            sum += Math.pow(a, k) / factorial(k);
        }
        double top = Math.pow(a, c) / factorial(c) * c / (c - a);
        return top / (sum + top);
    }

    private static double factorial(int n) {
        double f = 1;
        for (int i = 2; i <= n; i++) {
            f *= i;
        }
        return f;
    }

    @Test
    void theSmallestWorkerCountWhoseLateShareIsWithinTheMiss() {
        // 0.2 tasks/s of 10 s (a = 2): with no wait allowed the share that waits at all is C(c, 2): 0.444, 0.174, 0.060,
        // 0.018 for c = 3..6
        assertThat(Staffing.workers(0.2, 10, 0, 0.45, 100)).isEqualTo(3);
        assertThat(Staffing.workers(0.2, 10, 0, 0.44, 100)).isEqualTo(4);
        assertThat(Staffing.workers(0.2, 10, 0, 0.18, 100)).isEqualTo(4);
        assertThat(Staffing.workers(0.2, 10, 0, 0.17, 100)).isEqualTo(5);
        assertThat(Staffing.workers(0.2, 10, 0, 0.05, 100)).isEqualTo(6);
        // a 10 s target: C(c, 2) * exp(-(c - 2)): 0.164 for 3, 0.0235 for 4
        assertThat(Staffing.workers(0.2, 10, 10, 0.17, 100)).isEqualTo(3);
        assertThat(Staffing.workers(0.2, 10, 10, 0.05, 100)).isEqualTo(4);
        // never c <= a (an unstable queue), however large the miss
        assertThat(Staffing.workers(0.2, 10, 0, 1, 100)).isEqualTo(3);
        assertThat(Staffing.workers(0.5, 2, 0, 1, 100)).isEqualTo(2);
    }

    @Test
    void aLongerTargetOrALargerMissNeedsNoMoreWorkers() {
        for (double rate : new double[] {0.02, 0.1, 0.3, 1}) {
            int previous = Integer.MAX_VALUE;
            for (double target = 0; target <= 300; target += 5) {
                int c = Staffing.workers(rate, 16.8, target, 0.05, 1000);
                assertThat(c).as(rate + "/s, " + target + " s").isLessThanOrEqualTo(previous)
                        .isGreaterThan((int) Math.floor(rate * 16.8));
                previous = c;
            }
            previous = Integer.MAX_VALUE;
            for (double miss : new double[] {0.001, 0.01, 0.03, 0.05, 0.1, 0.3}) {
                int c = Staffing.workers(rate, 16.8, 30, miss, 1000);
                assertThat(c).as(rate + "/s, miss " + miss).isLessThanOrEqualTo(previous);
                previous = c;
            }
        }
    }

    @Test
    void noLoadNeedsNoWorkerAndTheMaximumIsTheMostEverAnswered() {
        assertThat(Staffing.workers(0, 16.8, 60, 0.01, 10)).isZero();
        assertThat(Staffing.workers(0.1, 0, 60, 0.01, 10)).isZero();
        assertThat(Staffing.workers(0.1, 16.8, 0, 0.01, 0)).isZero();
        // 1 task/s of 16.8 s is 16.8 erlangs: a fleet of 10 can never keep up
        assertThat(Staffing.workers(1, 16.8, 60, 0.05, 10)).isEqualTo(10);
        assertThat(Staffing.workers(1, 16.8, 60, 0.05, 1000)).isEqualTo(reference(1, 16.8, 60, 0.05));
        // just enough room: the answer is not cut below what it would be without the cap
        int free = Staffing.workers(0.1, 16.8, 0, 0.01, 1000);
        assertThat(Staffing.workers(0.1, 16.8, 0, 0.01, free)).isEqualTo(free);
    }
}
