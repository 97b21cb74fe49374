package dev.comfyless.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** Minimal RESP client for questions asked before any Redis client exists. */
public final class RespProbe {

    private RespProbe() {
    }

    /** Whether a Redis answers PING on host:port. */
    public static boolean answersPing(String host, int port) {
        try (Socket socket = connect(host, port)) {
            send(socket, "*1\r\n$4\r\nPING\r\n");
            return readLine(socket.getInputStream()).equals("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    /** The {@code dir} of the Redis on host:port, or empty when nothing (or no Redis) answers there. */
    static Optional<String> configDir(String host, int port) {
        try (Socket socket = connect(host, port)) {
            send(socket, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n");
            InputStream in = socket.getInputStream();
            // expected: *2 $3 dir $<n> <path>
            String header = readLine(in);
            if (!header.startsWith("*2")) {
                return header.startsWith("-") ? Optional.of("(a Redis that refused CONFIG GET)") : Optional.empty();
            }
            readLine(in);
            readLine(in);
            readLine(in);
            return Optional.of(readLine(in));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Asks the Redis on host:port to shut down (as SIGTERM would: the append-only file is flushed first). Redis
     * closes the connection instead of answering; returns false when it answered with an error or nothing answers.
     */
    static boolean shutdown(String host, int port) {
        try (Socket socket = connect(host, port)) {
            send(socket, "*1\r\n$8\r\nSHUTDOWN\r\n");
            return !readLine(socket.getInputStream()).startsWith("-");
        } catch (IOException e) {
            // a read cut by the closing server is the expected outcome
            return true;
        }
    }

    private static Socket connect(String host, int port) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), 300);
            socket.setSoTimeout(1000);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private static void send(Socket socket, String command) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(command.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read();
                break;
            }
            sb.append((char) c);
        }
        return sb.toString();
    }
}
