package lab;

import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;

/** The endpoints of SPEC sections 3-5: exact paths, GET only, JSON errors. */
final class Routes {
    private static final Set<String> PATHS = Set.of("/ping", "/info", "/cpu", "/work", "/hash",
            "/sleep");
    private static final String PONG = "pong";

    private final Config config;
    private final String info;
    /** Where offload=1 runs /cpu, /work and /hash; null: on the request's own thread. */
    private final ExecutorService offload;

    Routes(Config config, ExecutorService offload) {
        this.config = config;
        this.offload = offload;
        this.info = info(config, offload != null);
    }

    /** Handles a request whose body was read; /cpu, /work and /hash compute right here. */
    Response handle(Request request) throws InterruptedException {
        String path = request.path();
        if (!PATHS.contains(path)) {
            return Response.error(404, "no such path: " + path);
        }
        if (!request.method().equals("GET")) {
            return Response.error(405, request.method() + " is not allowed on " + path
                    + "; use GET");
        }
        try {
            Params params = new Params(request.query());
            return switch (path) {
                case "/ping" -> Response.text(PONG);
                case "/info" -> Response.json(info);
                case "/cpu" -> cpu(params.number("ms", 0, 10_000), params.offload());
                case "/work" -> work(params.number("n", 0, 100_000_000), params.offload());
                case "/hash" -> hash((int) params.number("iter", 1, 1_000_000), params.offload());
                default -> sleep(params.number("ms", 0, 10_000));
            };
        } catch (HttpError e) {
            return Response.error(e.status, e.getMessage());
        }
    }

    private Response cpu(long ms, boolean offloaded) throws InterruptedException {
        run(offloaded, () -> {
            Work.spin(ms);
            return ms;
        });
        return Response.json("{\"ms\": " + ms + ", \"offload\": " + offloaded + "}");
    }

    private Response work(long n, boolean offloaded) throws InterruptedException {
        String digest = run(offloaded, () -> Work.work(n));
        return Response.json("{\"n\": " + n + ", \"digest\": \"" + digest + "\", \"offload\": "
                + offloaded + "}");
    }

    private Response hash(int iterations, boolean offloaded) throws InterruptedException {
        String digest = run(offloaded, () -> Work.hash(iterations));
        return Response.json("{\"iter\": " + iterations + ", \"digest\": \"" + digest
                + "\", \"offload\": " + offloaded + "}");
    }

    /** Thread.sleep: a virtual thread unmounts and frees its carrier; a platform one sleeps. */
    private static Response sleep(long ms) throws InterruptedException {
        Thread.sleep(ms);
        return Response.json("{\"ms\": " + ms + "}");
    }

    /**
     * Runs work here, or with offload=1 on the offload pool: the request's virtual thread
     * then parks in Future.get, which unmounts it, so its carrier serves other requests.
     */
    private <T> T run(boolean offloaded, Supplier<T> work) throws InterruptedException {
        if (!offloaded || offload == null) {
            return work.get();
        }
        try {
            return offload.submit(work::get).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("offloaded work failed", e.getCause());
        }
    }

    private static String info(Config config, boolean pooled) {
        String offload = pooled
                ? "/cpu, /work and /hash run on a fixed pool of OFFLOAD_THREADS platform threads; "
                + "the request's virtual thread parks until the result is ready, which frees "
                + "its carrier"
                : "ignored: each connection already has its own platform thread, which the "
                + "kernel preempts";
        StringJoiner knobs = new StringJoiner(", ", "{", "}");
        for (Map.Entry<String, Integer> knob : config.knobs().entrySet()) {
            knobs.add(Json.string(knob.getKey()) + ": " + knob.getValue());
        }
        String version = Runtime.version() + " (" + System.getProperty("java.vendor") + ")";
        return "{\"target\": " + Json.string(config.target())
                + ", \"runtime\": \"java\", \"model\": " + Json.string(config.model())
                + ", \"version\": " + Json.string(version)
                + ", \"pid\": " + ProcessHandle.current().pid()
                + ", \"worker\": null, \"knobs\": " + knobs
                + ", \"offload\": " + Json.string(offload) + "}";
    }
}
