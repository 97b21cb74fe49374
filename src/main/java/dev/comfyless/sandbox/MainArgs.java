package dev.comfyless.sandbox;

import java.time.Duration;
import java.util.function.BiFunction;
import java.util.function.Function;

/** The {@code --name value} command lines of the simulators' mains: parsing and the checks of values. */
final class MainArgs {

    private MainArgs() {
    }

    /**
     * Folds every {@code --name value} pair into {@code start} with {@code option}, which throws
     * IllegalArgumentException for an unknown name or a bad value.
     */
    static <T> T fold(String[] args, T start, BiFunction<T, String[], T> option) {
        T options = start;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value for " + args[i]);
            }
            options = option.apply(options, new String[] {args[i], args[i + 1]});
        }
        return options;
    }

    /** Parses, or prints what is wrong and the usage and exits with 2. */
    static <T> T parseOrExit(String[] args, Function<String[], T> parse, String usage) {
        try {
            return parse.apply(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: " + usage);
            System.exit(2);
            throw e;
        }
    }

    static IllegalArgumentException unknown(String option) {
        return new IllegalArgumentException("unknown option " + option);
    }

    static int number(String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got " + value);
        }
    }

    static Duration millis(String option, String value) {
        return Duration.ofMillis(number(option, value));
    }

    static boolean bool(String option, String value) {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(option + " needs true or false, got " + value);
        };
    }
}
