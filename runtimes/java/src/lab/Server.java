package lab;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The lab's HTTP server on the JVM: `java lab.Server virtual-threads|platform-threads`.
 *
 * The main thread accepts; every connection gets its own thread, and the two models differ
 * in that one line: a virtual thread (M:N, on the scheduler's carrier threads) or a
 * platform thread (1:1, an OS thread the kernel schedules).
 */
public final class Server {
    private static final int BACKLOG = 4096;
    /** SPEC section 9: in-flight requests get at most 1.5 s once SIGTERM arrives. */
    private static final long GRACE_MS = 1_500;

    private final ServerSocket listener;
    private final ExecutorService perConnection;
    private final Routes routes;
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;

    Server(ServerSocket listener, ExecutorService perConnection, Routes routes) {
        this.listener = listener;
        this.perConnection = perConnection;
        this.routes = routes;
    }

    public static void main(String[] args) {
        String model = args.length == 1 ? args[0] : "";
        if (!model.equals(Config.VIRTUAL) && !model.equals(Config.PLATFORM)) {
            fail("usage: java lab.Server " + Config.VIRTUAL + "|" + Config.PLATFORM);
        }
        Config config = null;
        try {
            config = Config.fromEnvironment(model, System.getenv());
        } catch (IllegalArgumentException e) {
            fail("java/" + model + ": " + e.getMessage());
        }
        boolean virtual = model.equals(Config.VIRTUAL);
        ExecutorService perConnection = virtual
                ? Executors.newVirtualThreadPerTaskExecutor()
                : Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory());
        ExecutorService offload = virtual
                ? Executors.newFixedThreadPool(config.knobs().get(Config.OFFLOAD_THREADS),
                        Thread.ofPlatform().name("offload-", 0).daemon().factory())
                : null;
        Routes routes = new Routes(config, offload);
        long started = System.nanoTime();
        try {
            Warmup.run(perConnection, routes);
        } catch (IOException e) {
            fail(config.target() + ": " + e.getMessage());
        }
        long warmupMs = (System.nanoTime() - started) / 1_000_000;
        ServerSocket listener = null;
        try {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(config.host(), config.port()), BACKLOG);
        } catch (IOException e) {
            fail(config.target() + ": cannot listen on " + config.host() + ":" + config.port()
                    + ": " + e.getMessage());
        }
        Server server = new Server(listener, perConnection, routes);
        Runtime.getRuntime().addShutdownHook(new Thread(server::drainAndHalt, "drain"));
        System.err.printf("%s listening on http://%s:%d (pid %d; warmed up with %d requests "
                + "in %d ms)%n", config.target(), config.host(), config.port(),
                ProcessHandle.current().pid(), Warmup.requests(), warmupMs);
        server.acceptLoop();
    }

    private static void fail(String message) {
        System.err.println(message);
        System.exit(2);
    }

    Routes routes() {
        return routes;
    }

    boolean draining() {
        return draining;
    }

    void closed(Connection connection) {
        open.remove(connection);
    }

    void acceptLoop() {
        long lastComplaint = 0;
        while (!draining) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                if (draining) {
                    return;
                }
                // e.g. out of descriptors: say so at most once a second, and keep serving.
                if (System.nanoTime() - lastComplaint > 1_000_000_000L) {
                    System.err.println("accept failed: " + e.getMessage());
                    lastComplaint = System.nanoTime();
                }
                continue;
            }
            Connection connection = new Connection(socket, this);
            open.add(connection);
            try {
                perConnection.execute(connection);
            } catch (RejectedExecutionException e) { // shutdown began after this accept
                connection.closeIfIdle();
                open.remove(connection);
            }
        }
    }

    void stopAccepting() {
        draining = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closed already
        }
    }

    /**
     * The JVM runs this shutdown hook on SIGTERM or SIGINT (SPEC section 9): stop accepting,
     * close idle connections, give requests in flight up to GRACE_MS, then exit 0. halt, not
     * exit: the JVM would otherwise end with 143 for SIGTERM, and exit() cannot be called
     * from a shutdown hook.
     */
    private void drainAndHalt() {
        stopAccepting();
        open.forEach(Connection::closeIfIdle);
        perConnection.shutdown();
        try {
            perConnection.awaitTermination(GRACE_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Runtime.getRuntime().halt(0);
    }
}
