package lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Before the server listens on PORT, it serves itself REQUESTS requests on a private
 * loopback port, through the same sockets, threads and handlers: the JVM starts by
 * interpreting bytecode and compiles the hot paths only after thousands of calls, so without
 * this the first second of every measurement would show the JIT, not the model.
 */
final class Warmup {
    static final int CONNECTIONS = 8;
    static final int BATCHES = 10; // per client, each on a fresh connection
    private static final String[] MIX = {"/ping", "/ping", "/ping", "/ping", "/info",
        "/work?n=100", "/cpu?ms=0", "/cpu?ms=0&offload=1", "/hash?iter=1", "/sleep?ms=0",
        "/nope", "/work?n=x"};
    private static final int PER_BATCH = 8 * MIX.length;
    private static final int TIMEOUT_MS = 10_000;

    private Warmup() {
    }

    /** Total requests served to itself. */
    static int requests() {
        return CONNECTIONS * BATCHES * PER_BATCH;
    }

    static void run(ExecutorService perConnection, Routes routes) throws IOException {
        try (ServerSocket listener = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
            Server warm = new Server(listener, perConnection, routes);
            Thread acceptor = Thread.ofPlatform().name("warmup-accept").start(warm::acceptLoop);
            byte[] batch = batch(listener.getLocalPort());
            List<Future<?>> clients = new ArrayList<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS)) {
                for (int c = 0; c < CONNECTIONS; c++) {
                    clients.add(pool.submit(() -> client(listener.getLocalPort(), batch)));
                }
                for (Future<?> client : clients) {
                    client.get();
                }
            } catch (Exception e) {
                throw new IOException("warm-up failed", e);
            }
            warm.stopAccepting();
            acceptor.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** PER_BATCH pipelined requests, the last one closing the connection. */
    private static byte[] batch(int port) {
        StringBuilder wire = new StringBuilder();
        for (int i = 0; i < PER_BATCH; i++) {
            wire.append("GET ").append(MIX[i % MIX.length]).append(" HTTP/1.1\r\nHost: 127.0.0.1:")
                    .append(port).append(i == PER_BATCH - 1 ? "\r\nConnection: close" : "")
                    .append("\r\n\r\n");
        }
        return wire.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static Void client(int port, byte[] batch) throws IOException {
        byte[] sink = new byte[65_536];
        for (int b = 0; b < BATCHES; b++) {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                socket.setSoTimeout(TIMEOUT_MS); // a stuck warm-up fails start-up, loudly
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                out.write(batch);
                while (in.read(sink) >= 0) {
                    // the responses; the server closes after the last one
                }
            }
        }
        return null;
    }
}
