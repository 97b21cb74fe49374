package dev.comfyless.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.Property;

/**
 * Every log line of the JVM while started (logger name, message, and a throwable's full stack trace), for tests
 * that check what reaches the log, e.g. that no secret does.
 */
public final class LogCapture implements AutoCloseable {

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Appender appender = new Appender();
    private final boolean debug;

    private final class Appender extends AbstractAppender {
        Appender() {
            super("capture-" + System.identityHashCode(LogCapture.this), null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent event) {
            StringBuilder line = new StringBuilder(event.getLevel().name()).append(' ').append(event.getLoggerName())
                    .append(" - ").append(event.getMessage().getFormattedMessage());
            if (event.getThrown() != null) {
                StringWriter w = new StringWriter();
                event.getThrown().printStackTrace(new PrintWriter(w));
                line.append('\n').append(w);
            }
            lines.add(line.append('\n').toString());
        }
    }

    private LogCapture(boolean debug) {
        this.debug = debug;
    }

    /** Captures at the shipped levels (log4j2.properties). */
    public LogCapture() {
        this(false);
    }

    /** Captures with Camel and ComfyLess at DEBUG too (the shipped configuration still pins the loggers that
     * would print secrets at DEBUG to INFO). */
    public static LogCapture withDebug() {
        return new LogCapture(true);
    }

    public LogCapture start() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        appender.start();
        ctx.getConfiguration().getRootLogger().addAppender(appender, Level.ALL, null);
        ctx.updateLoggers();
        if (debug) {
            Configurator.setLevel("org.apache.camel", Level.DEBUG);
            Configurator.setLevel("dev.comfyless", Level.DEBUG);
        }
        return this;
    }

    public void stop() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        if (debug) {
            Configurator.setLevel("org.apache.camel", Level.INFO);
            Configurator.setLevel("dev.comfyless", Level.INFO);
        }
        ctx.getConfiguration().getRootLogger().removeAppender(appender.getName());
        ctx.updateLoggers();
        appender.stop();
    }

    @Override
    public void close() {
        stop();
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    public String text() {
        return String.join("", lines);
    }
}
