package dev.comfyless.sandbox;

import java.math.BigInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Links and literal widget values in a prompt. Validation converts literals with Python's int(), float() and str()
 * before checking ranges, and execution uses the converted values, so both go through here.
 */
final class Literals {

    /** Why a conversion failed, worded as Python's exception message. */
    static final class ConversionFailure extends Exception {
        ConversionFailure(String message) {
            super(message, null, false, false);
        }
    }

    private Literals() {
    }

    /** A link: {@code [node_id_string, output_index_int]}. */
    static boolean isLink(JsonNode v) {
        return v != null && v.isArray() && v.size() == 2 && v.get(0).isTextual() && v.get(1).isIntegralNumber();
    }

    /** A list widget value travels wrapped as {"__value__": [...]}, since a bare list would be a link. */
    static JsonNode unwrap(JsonNode v) {
        return v.isObject() && v.has("__value__") ? v.get("__value__") : v;
    }

    static JsonNode convert(String type, JsonNode v) throws ConversionFailure {
        switch (type) {
            case "INT":
                return BigIntegerNode.valueOf(toInt(v));
            case "FLOAT":
                return DoubleNode.valueOf(toFloat(v));
            case "STRING":
                return TextNode.valueOf(PyText.str(v));
            default:
                return v;
        }
    }

    private static BigInteger toInt(JsonNode v) throws ConversionFailure {
        if (v.isIntegralNumber()) {
            return v.bigIntegerValue();
        }
        if (v.isNumber()) {
            return v.decimalValue().toBigInteger();
        }
        if (v.isBoolean()) {
            return v.booleanValue() ? BigInteger.ONE : BigInteger.ZERO;
        }
        if (v.isTextual()) {
            try {
                return PyText.parseInt(v.textValue());
            } catch (NumberFormatException e) {
                throw new ConversionFailure(e.getMessage());
            }
        }
        throw new ConversionFailure("int() argument must be a string, a bytes-like object or a real number, not '"
                + PyText.typeName(v) + "'");
    }

    private static double toFloat(JsonNode v) throws ConversionFailure {
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isBoolean()) {
            return v.booleanValue() ? 1 : 0;
        }
        if (v.isTextual()) {
            try {
                return PyText.parseFloat(v.textValue());
            } catch (NumberFormatException e) {
                throw new ConversionFailure(e.getMessage());
            }
        }
        throw new ConversionFailure("float() argument must be a string or a real number, not '"
                + PyText.typeName(v) + "'");
    }
}
