package dev.comfyless.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.comfyless.dispatch.StoreOutputRoute;
import dev.comfyless.output.FileOutputStore;
import org.apache.camel.BeanInject;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.Test;

/**
 * routes/outputs.camel.yaml with a real (file) output store: the store-output route hands the staged file and its
 * headers to the store, its failures come back to the copy as IOExceptions, and a step an operator adds sends the
 * same file anywhere Camel reaches.
 */
@CamelMainTest
class OutputRoutesTest extends RouteFiles {

    private static final Path DIR = tempDir();

    @Override
    protected String[] routeFiles() {
        return new String[] {"outputs.camel.yaml"};
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("output-routes");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BindToRegistry("outputStore")
    final FileOutputStore store = new FileOutputStore(DIR.resolve("outputs"));

    @BeanInject
    CamelContext context;

    private Path staged(String text) throws IOException {
        return Files.writeString(store.staging("t", "x"), text);
    }

    @Test
    void theStagedFileBecomesTheOutputAndAnAddedStepGetsTheSameFile() throws Exception {
        // what an operator adds after the store: a copy to a folder of their own, named by CamelFileName
        AdviceWith.adviceWith(context, "store-output", a -> a.weaveAddLast().to("file:" + DIR.resolve("copies")));
        new StoreOutputRoute(context).store("task-1", "image 1.png", "image/png", staged("png bytes"));
        assertThat(store.open("task-1", "image 1.png").orElseThrow().readAllBytes()).asString().isEqualTo("png bytes");
        assertThat(DIR.resolve("copies/task-1/image 1.png")).hasContent("png bytes");
    }

    @Test
    void aFailureOfTheRouteComesBackAsAnIOException() throws Exception {
        Path staged = staged("bytes");
        // a name the store refuses: the bean's exception is handed back as it is
        assertThatThrownBy(() -> new StoreOutputRoute(context).store("task-2", "../escape.png", null, staged))
                .isInstanceOf(IOException.class).hasMessageContaining("store-output route failed")
                .hasRootCauseInstanceOf(IllegalArgumentException.class);
        assertThat(store.open("task-2", "escape.png")).isEmpty();
    }
}
