package dev.comfyless.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.core.layout.PatternLayout;

/** Every log line written while it is started (all loggers, all levels the configuration lets through). */
public final class LogCapture {

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Appender appender = new Appender();

    private final class Appender extends AbstractAppender {
        Appender() {
            super("capture-" + System.identityHashCode(LogCapture.this), null,
                    PatternLayout.newBuilder().withPattern("%-5level %c{1} - %msg%n%throwable").build(), true,
                    Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent event) {
            lines.add(new String(getLayout().toByteArray(event), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    public void start() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        appender.start();
        config.getRootLogger().addAppender(appender, null, null);
        ctx.updateLoggers();
    }

    public void stop() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().removeAppender(appender.getName());
        ctx.updateLoggers();
        appender.stop();
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    public String text() {
        return String.join("", lines);
    }
}
