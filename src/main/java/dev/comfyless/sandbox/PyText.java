package dev.comfyless.sandbox;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Python's {@code str()}, {@code repr()}, truthiness and number parsing for JSON values: ComfyUI builds its error
 * texts with f-strings, so a faithful simulator has to format values the way Python does.
 */
final class PyText {

    private static final Pattern INT = Pattern.compile("[+-]?\\d(?:_?\\d)*");
    private static final Pattern FLOAT = Pattern.compile(
            "[+-]?(?:(?:\\d(?:_?\\d)*(?:\\.(?:\\d(?:_?\\d)*)?)?|\\.\\d(?:_?\\d)*)(?:[eE][+-]?\\d(?:_?\\d)*)?"
                    + "|inf|infinity|nan)", Pattern.CASE_INSENSITIVE);

    private PyText() {
    }

    static String str(JsonNode v) {
        return v != null && v.isTextual() ? v.textValue() : repr(v);
    }

    static String repr(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return "None";
        }
        if (v.isBoolean()) {
            return v.booleanValue() ? "True" : "False";
        }
        if (v.isTextual()) {
            return repr(v.textValue());
        }
        if (v.isIntegralNumber()) {
            return v.bigIntegerValue().toString();
        }
        if (v.isNumber()) {
            return floatRepr(v.doubleValue());
        }
        StringBuilder b = new StringBuilder();
        if (v.isArray()) {
            b.append('[');
            for (Iterator<JsonNode> it = v.elements(); it.hasNext(); ) {
                b.append(repr(it.next())).append(it.hasNext() ? ", " : "");
            }
            return b.append(']').toString();
        }
        b.append('{');
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            b.append(repr(e.getKey())).append(": ").append(repr(e.getValue())).append(it.hasNext() ? ", " : "");
        }
        return b.append('}').toString();
    }

    static String repr(List<String> list) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < list.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(repr(list.get(i)));
        }
        return b.append(']').toString();
    }

    /** Single quotes unless the text holds a single quote and no double quote, as Python chooses. */
    static String repr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote || c == '\\') {
                b.append('\\').append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append(quote).toString();
    }

    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        double a = Math.abs(d);
        if (a >= 1e-4 && a < 1e16) {
            String plain = new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
            return plain.indexOf('.') < 0 ? plain + ".0" : plain;
        }
        String s = Double.toString(d);
        int e = s.indexOf('E');
        String mantissa = s.substring(0, e);
        int exponent = Integer.parseInt(s.substring(e + 1));
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
    }

    /** Python's name for the type a JSON value parses to, as TypeError messages print it. */
    static String typeName(JsonNode v) {
        if (v == null || v.isNull()) {
            return "NoneType";
        }
        if (v.isObject()) {
            return "dict";
        }
        if (v.isArray()) {
            return "list";
        }
        if (v.isTextual()) {
            return "str";
        }
        if (v.isBoolean()) {
            return "bool";
        }
        return v.isIntegralNumber() ? "int" : "float";
    }

    static boolean truthy(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return false;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isNumber()) {
            return v.isIntegralNumber() ? v.bigIntegerValue().signum() != 0 : v.doubleValue() != 0;
        }
        if (v.isTextual()) {
            return !v.textValue().isEmpty();
        }
        return v.size() > 0;
    }

    /** {@code int(text)}: surrounding whitespace, a sign and digit-separating underscores are allowed. */
    static BigInteger parseInt(String text) {
        String s = text.strip();
        if (!INT.matcher(s).matches()) {
            throw new NumberFormatException("invalid literal for int() with base 10: " + repr(text));
        }
        return new BigInteger(s.replace("_", ""));
    }

    /** {@code float(text)}, including Python's "inf" and "nan" spellings. */
    static double parseFloat(String text) {
        String s = text.strip();
        if (!FLOAT.matcher(s).matches()) {
            throw new NumberFormatException("could not convert string to float: " + repr(text));
        }
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.endsWith("inf") || lower.endsWith("infinity")) {
            return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        return lower.endsWith("nan") ? Double.NaN : Double.parseDouble(s.replace("_", ""));
    }

    /**
     * {@code json.dumps(v)} with its defaults: ", " and ": " separators, every character outside printable ASCII
     * escaped with lowercase hex, floats as repr() writes them, and NaN and Infinity allowed.
     */
    static String jsonDumps(JsonNode v) {
        StringBuilder b = new StringBuilder();
        dump(b, v);
        return b.toString();
    }

    private static void dump(StringBuilder b, JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            b.append("null");
        } else if (v.isBoolean()) {
            b.append(v.booleanValue());
        } else if (v.isIntegralNumber()) {
            b.append(v.bigIntegerValue());
        } else if (v.isNumber()) {
            double d = v.doubleValue();
            b.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                    : floatRepr(d));
        } else if (v.isTextual()) {
            dumpString(b, v.textValue());
        } else if (v.isArray()) {
            b.append('[');
            for (Iterator<JsonNode> it = v.elements(); it.hasNext(); ) {
                dump(b, it.next());
                b.append(it.hasNext() ? ", " : "");
            }
            b.append(']');
        } else {
            b.append('{');
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                dumpString(b, e.getKey());
                b.append(": ");
                dump(b, e.getValue());
                b.append(it.hasNext() ? ", " : "");
            }
            b.append('}');
        }
    }

    private static void dumpString(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
