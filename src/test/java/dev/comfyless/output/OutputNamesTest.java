package dev.comfyless.output;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OutputNamesTest {

    @Test
    void aFileNameIsMadeSafeForPathsAndUrls() {
        assertThat(OutputNames.clean("ComfyUI_00001_.png")).isEqualTo("ComfyUI_00001_.png");
        assertThat(OutputNames.clean("a/b\\c?d#e%f.png")).isEqualTo("a_b_c_d_e_f.png");
        assertThat(OutputNames.clean("../../etc/passwd")).isEqualTo("etc_passwd");
        assertThat(OutputNames.clean("...hidden.png")).as("no leading dots, spaces or dashes").isEqualTo("hidden.png");
        assertThat(OutputNames.clean("été.png")).isEqualTo("t_.png");
        assertThat(OutputNames.clean("")).isEqualTo("output");
        assertThat(OutputNames.clean(null)).isEqualTo("output");
        assertThat(OutputNames.clean("x".repeat(200) + ".png")).hasSize(150).endsWith(".png");
    }

    @Test
    void namesAreUniqueWithinATask() {
        OutputNames names = new OutputNames();
        assertThat(names.name("9", "out.png")).isEqualTo("out.png");
        assertThat(names.name("12", "out.png")).isEqualTo("12-out.png");
        assertThat(names.name("12", "out.png")).isEqualTo("12-2-out.png");
        assertThat(names.name("12", "sub/out.png")).isEqualTo("sub_out.png");
    }
}
