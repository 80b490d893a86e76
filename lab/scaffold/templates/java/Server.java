// @NAME@/virtual-threads: a skeleton of a lab server (runtimes/SPEC.md) on the JDK's
// com.sun.net.httpserver, each request handled on a virtual thread.
//
// It answers GET /ping and 404s everything else. TODO, until `uv run invoke lab.verify
// --target @NAME@` passes: /info, /cpu, /work, /hash, /sleep, offload=1, parameter
// checks, 405 with Allow, the limits (431, 413) and every rule of SPEC.md.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public final class Server {
    private Server() {}

    static void send(HttpExchange exchange, int status, String type, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    static void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (path.equals("/ping") && exchange.getRequestMethod().equals("GET")) {
            send(exchange, 200, "text/plain; charset=utf-8", "pong");
        } else {
            send(exchange, 404, "application/json", "{\"error\": \"not found\"}");
        }
    }

    public static void main(String[] args) throws IOException {
        String carriers = System.getenv("VTHREAD_PARALLELISM");
        if (carriers != null) {  // read when the first virtual thread starts
            System.setProperty("jdk.virtualThreadScheduler.parallelism", carriers);
        }
        String host = System.getenv().getOrDefault("HOST", "127.0.0.1");
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 4096);
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", Server::handle);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop(1);  // stop accepting; wait up to 1 s for exchanges in flight
            executor.close();
        }));
        server.start();
        System.err.printf("@NAME@/virtual-threads listening on http://%s:%d (pid %d)%n", host,
                port, ProcessHandle.current().pid());
    }
}
