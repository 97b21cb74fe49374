package dev.comfyless.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class JsonSpliceTest {

    @Test
    void replacesAStringInputAndKeepsEveryOtherByte() {
        String prompt = "{\"3\": {\"inputs\": {\"seed\": 9223372036854775807}},\n \"10\":{\"class_type\":\"LoadImage\","
                + "\"inputs\":{\"image\":\"placeholder.png\" ,\"upload\":\"image\"}}}";
        assertThat(JsonSplice.setInput(prompt, "10", "image", "abc-cat.png")).isEqualTo(
                "{\"3\": {\"inputs\": {\"seed\": 9223372036854775807}},\n \"10\":{\"class_type\":\"LoadImage\","
                        + "\"inputs\":{\"image\":\"abc-cat.png\" ,\"upload\":\"image\"}}}");
    }

    @Test
    void replacesANonStringValueToo() {
        assertThat(JsonSplice.setInput("{\"1\":{\"inputs\":{\"image\":[\"2\",0],\"x\":1}}}", "1", "image", "a.png"))
                .isEqualTo("{\"1\":{\"inputs\":{\"image\":\"a.png\",\"x\":1}}}");
        assertThat(JsonSplice.setInput("{\"1\":{\"inputs\":{\"image\":{\"a\":[1]}}}}", "1", "image", "a.png"))
                .isEqualTo("{\"1\":{\"inputs\":{\"image\":\"a.png\"}}}");
    }

    @Test
    void addsTheInputWhenTheNodeHasNone() {
        assertThat(JsonSplice.setInput("{\"1\":{\"inputs\":{}}}", "1", "image", "x \"q\".png"))
                .isEqualTo("{\"1\":{\"inputs\":{\"image\":\"x \\\"q\\\".png\"}}}");
        assertThat(JsonSplice.setInput("{\"1\":{\"inputs\":{\"b\":2}}}", "1", "image", "x.png"))
                .isEqualTo("{\"1\":{\"inputs\":{\"image\":\"x.png\",\"b\":2}}}");
    }

    @Test
    void refusesAMissingNode() {
        assertThatThrownBy(() -> JsonSplice.setInput("{\"1\":{\"inputs\":{}}}", "2", "image", "x"))
                .hasMessageContaining("'2'");
    }
}
