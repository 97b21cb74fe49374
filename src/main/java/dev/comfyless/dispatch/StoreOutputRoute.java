package dev.comfyless.dispatch;

import java.io.IOException;
import java.nio.file.Path;

import dev.comfyless.LazyTemplate;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.RuntimeCamelException;
import org.apache.camel.component.direct.DirectConsumerNotAvailableException;
import org.apache.camel.util.ObjectHelper;

/**
 * Sends each downloaded output through the {@code store-output} route ({@code routes/outputs.camel.yaml}), whose
 * default step is the output store: an operator can add steps or send the file elsewhere. The body is the staged
 * local file (a {@link Path}); the headers say whose output it is. Any failure of the route comes back as an
 * {@link IOException}, so that the task fails as {@code outputs} and never completes without its files; except a
 * stopped route (an operator stopped it over JMX), which holds the finished prompt like a stopped completion route:
 * the task stays running and its outputs are copied once the route runs again.
 */
public final class StoreOutputRoute implements OutputCollector.Storing {

    public static final String ENDPOINT = "direct:store-output";
    public static final String TASK_ID = "ComfyLessTaskId";
    public static final String OUTPUT_NAME = "ComfyLessOutputName";

    private final LazyTemplate templates;

    public StoreOutputRoute(CamelContext context) {
        this.templates = new LazyTemplate(context);
    }

    @Override
    public void store(String taskId, String name, String contentType, Path staged) throws IOException {
        Exchange done = templates.get().send(ENDPOINT, e -> {
            Message in = e.getIn();
            in.setBody(staged);
            in.setHeader(TASK_ID, taskId);
            in.setHeader(OUTPUT_NAME, name);
            // what the file: component (and most others) name a file by, and its media type
            in.setHeader(Exchange.FILE_NAME, taskId + "/" + name);
            in.setHeader(Exchange.CONTENT_TYPE, contentType);
        });
        Exception failure = done.getException();
        if (failure == null) {
            return;
        }
        DirectConsumerNotAvailableException stopped =
                ObjectHelper.getException(DirectConsumerNotAvailableException.class, failure);
        if (stopped != null) {
            throw new RuntimeCamelException(stopped);
        }
        IOException io = ObjectHelper.getException(IOException.class, failure);
        if (io != null) {
            throw io;
        }
        throw new IOException("the store-output route failed: " + failure.getMessage(), failure);
    }
}
