package lab;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The runtime's own unit tests, without a test framework (the image has Debian's JDK and
 * nothing from Maven): `java -cp build/classes:build/test-classes lab.Tests`. The build runs
 * them; the conformance suite tests the running server.
 */
public final class Tests {
    private interface Check {
        void run() throws Exception;
    }

    private static final Map<String, Check> CHECKS = new LinkedHashMap<>();

    static {
        CHECKS.put("work digests are SPEC's golden values", () -> {
            Map<Long, String> golden = Map.of(0L, "811c9dc5", 1L, "050c5d1f", 2L, "1076963a",
                    10L, "2f854072", 1_000L, "a06ae7fd", 65_536L, "eea39dc5",
                    1_000_000L, "bbc1d705", 10_000_000L, "25be6645");
            golden.forEach((n, digest) -> equal(digest, Work.work(n), "work " + n));
        });
        CHECKS.put("hash digests are SPEC's golden values", () -> {
            equal("3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a",
                    Work.hash(1), "iter 1");
            equal("4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5",
                    Work.hash(2), "iter 2");
            equal("0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955",
                    Work.hash(100), "iter 100");
            equal("adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca",
                    Work.hash(10_000), "iter 10000");
        });
        CHECKS.put("spin lasts at least the time asked", () -> {
            long started = System.nanoTime();
            Work.spin(20);
            check(System.nanoTime() - started >= 20_000_000L, "spun under 20 ms");
        });
        CHECKS.put("numbers: digits only, leading zeros, range checked without overflow", () -> {
            equal(7L, new Params("ms=007").number("ms", 0, 10_000), "leading zeros");
            equal(0L, new Params("x=1&ms=0&y").number("ms", 0, 10_000), "zero, others ignored");
            for (String bad : List.of("ms=", "ms=-1", "ms=+5", "ms=1.5", "ms=1e3", "ms=0x10",
                    "ms=abc", "ms=10001", "ms=99999999999999999999999", "ms=1&ms=2", "other=1",
                    "ms=%2B5")) {
                refused(400, "'ms'", () -> new Params(bad).number("ms", 0, 10_000));
            }
        });
        CHECKS.put("offload: absent, 0 or 1", () -> {
            check(!new Params("n=1").offload(), "absent");
            check(new Params("offload=01").offload(), "01 is 1");
            check(!new Params("offload=0").offload(), "0");
            for (String bad : List.of("2", "yes", "", "-1", "true")) {
                refused(400, "'offload'", () -> new Params("offload=" + bad).offload());
            }
        });
        CHECKS.put("request heads: persistence and framing", () -> {
            Request r = head("GET /work?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
            check(r.keepAlive() && r.path().equals("/work") && r.query().equals("n=1"), "1.1");
            check(!head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keepAlive(),
                    "Connection: close");
            check(!head("GET / HTTP/1.0\r\n\r\n").keepAlive(), "1.0 closes by default");
            check(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive(),
                    "1.0 keep-alive");
            equal(5L, head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
                    .contentLength(), "Content-Length");
            check(head("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .chunked(), "chunked");
        });
        CHECKS.put("malformed heads are refused with the SPEC's status", () -> {
            Map<String, Integer> bad = new LinkedHashMap<>();
            bad.put("NOT A REQUEST\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1 trailing\r\nHost: x\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\n folded: line\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400);
            bad.put("GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", 505);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2"
                    + "\r\n\r\n", 400);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", 413);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999"
                    + "\r\n\r\n", 413);
            bad.put("GET /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
            bad.put("GET /ping HTTP/1.1\r\nHost: " + "a".repeat(RequestReader.HEAD_LIMIT)
                    + "\r\n\r\n", 431);
            bad.put("GET /ping HTTP/1.1\r\nHost: " + "a".repeat(2 * RequestReader.HEAD_LIMIT),
                    431);
            for (Map.Entry<String, Integer> entry : bad.entrySet()) {
                refused(entry.getValue(), "", () -> head(entry.getKey()));
            }
        });
        CHECKS.put("pipelined requests and bodies are framed one after another", () -> {
            String wire = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                    + "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3;ext=1\r\nxyz\r\n0\r\nTrailer: t\r\n\r\n"
                    + "\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
            RequestReader reader = reader(wire);
            StringBuilder paths = new StringBuilder();
            while (reader.awaitRequest()) {
                Request request = reader.readHead();
                reader.discardBody(request);
                paths.append(request.path());
            }
            equal("/a/b/c", paths.toString(), "paths");
        });
        CHECKS.put("a head of 8 KiB is read, also across many reads", () -> {
            String padded = "GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: " + "p".repeat(8_000)
                    + "\r\n\r\n";
            RequestReader reader = new RequestReader(new ByteArrayInputStream(
                    padded.getBytes(StandardCharsets.ISO_8859_1)) {
                @Override
                public synchronized int read(byte[] b, int off, int len) {
                    return super.read(b, off, Math.min(len, 7)); // a trickling client
                }
            });
            check(reader.awaitRequest(), "starts");
            equal("/ping", reader.readHead().path(), "path");
            check(!reader.awaitRequest(), "ends cleanly");
        });
        CHECKS.put("an oversized chunked body is 413", () -> refused(413, "", () -> {
            RequestReader reader = reader("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                    + "chunked\r\n\r\n100001\r\n");
            reader.awaitRequest();
            reader.discardBody(reader.readHead());
        }));
        CHECKS.put("a client gone mid-request is an end of stream, not a request", () -> {
            RequestReader reader = reader("GET /pi");
            check(reader.awaitRequest(), "bytes arrived");
            try {
                reader.readHead();
                throw new AssertionError("a partial head was parsed");
            } catch (EOFException expected) {
                // the connection just ends
            }
        });
        CHECKS.put("responses carry Content-Length, Content-Type, and Allow on 405", () -> {
            String ok = new String(Response.text("pong").encode(null, false),
                    StandardCharsets.ISO_8859_1);
            equal("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    + "Content-Length: 4\r\n\r\npong", ok, "200");
            String refused = new String(Response.error(405, "no").encode("close", true),
                    StandardCharsets.ISO_8859_1);
            check(refused.startsWith("HTTP/1.1 405 Method Not Allowed\r\n")
                    && refused.contains("\r\nAllow: GET\r\n")
                    && refused.contains("\r\nConnection: close\r\n")
                    && refused.contains("Content-Length: 15\r\n") && refused.endsWith("\r\n\r\n"),
                    "405 to HEAD: " + refused);
            equal("\"a\\\"b\\\\c\\u000a\"", Json.string("a\"b\\c\n"), "JSON escapes");
        });
        CHECKS.put("knobs: integers >= 1, named when wrong", () -> {
            for (String bad : List.of("0", "many", "-1", "+2", "1.5", "99999999999")) {
                try {
                    Config.fromEnvironment(Config.VIRTUAL, Map.of("OFFLOAD_THREADS", bad));
                    throw new AssertionError("OFFLOAD_THREADS=" + bad + " was accepted");
                } catch (IllegalArgumentException e) {
                    check(e.getMessage().contains("OFFLOAD_THREADS"), e.getMessage());
                }
            }
            Config config = Config.fromEnvironment(Config.VIRTUAL, Map.of("OFFLOAD_THREADS", "3"));
            equal(3, config.knobs().get("OFFLOAD_THREADS"), "value in effect");
            equal(Map.of(), Config.fromEnvironment(Config.PLATFORM, Map.of()).knobs(),
                    "platform threads have no knobs");
        });
    }

    private static RequestReader reader(String wire) {
        return new RequestReader(new ByteArrayInputStream(
                wire.getBytes(StandardCharsets.ISO_8859_1)));
    }

    private static Request head(String wire) throws IOException, HttpError {
        RequestReader reader = reader(wire);
        check(reader.awaitRequest(), "no request in " + wire);
        return reader.readHead();
    }

    private static void refused(int status, String naming, Check action) throws Exception {
        try {
            action.run();
        } catch (HttpError e) {
            equal(status, e.status, e.getMessage());
            check(e.getMessage().contains(naming), "'" + e.getMessage() + "' names " + naming);
            return;
        }
        throw new AssertionError("accepted, expected " + status);
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    private static void equal(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + actual);
        }
    }

    public static void main(String[] args) {
        List<String> failed = new ArrayList<>();
        for (Map.Entry<String, Check> entry : CHECKS.entrySet()) {
            try {
                entry.getValue().run();
                System.out.println("ok   " + entry.getKey());
            } catch (Exception | AssertionError e) {
                failed.add(entry.getKey());
                System.out.println("FAIL " + entry.getKey() + ": " + e);
            }
        }
        System.out.println((CHECKS.size() - failed.size()) + " passed, " + failed.size()
                + " failed");
        System.exit(failed.isEmpty() ? 0 : 1);
    }
}
