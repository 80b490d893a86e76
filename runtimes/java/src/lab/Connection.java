package lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client connection, served start to end by one thread (virtual or platform, as the
 * model says) in plain blocking style: read a request, handle it, write the response, repeat.
 */
final class Connection implements Runnable {
    private static final int IDLE = 0;
    private static final int BUSY = 1;
    private static final int CLOSED = 2;
    /** How long a closing connection reads (and drops) what the client still sends. */
    private static final int LINGER_MS = 1_000;
    private static final long LINGER_BYTES = 4 * RequestReader.BODY_LIMIT;

    private final Socket socket;
    private final Server server;
    private final AtomicInteger state = new AtomicInteger(IDLE);

    Connection(Socket socket, Server server) {
        this.socket = socket;
        this.server = server;
    }

    @Override
    public void run() {
        try {
            serve();
        } catch (IOException e) {
            // The client went away (closed, reset, or shutdown closed it while idle).
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            close();
            server.closed(this);
        }
    }

    private void serve() throws IOException, InterruptedException {
        socket.setTcpNoDelay(true); // each response is one write; do not hold it back
        RequestReader reader = new RequestReader(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        while (reader.awaitRequest() && state.compareAndSet(IDLE, BUSY)) {
            Request request;
            try {
                request = reader.readHead();
                reader.discardBody(request);
            } catch (HttpError e) {
                // Malformed or over a limit: answer, then close (SPEC section 2).
                out.write(Response.error(e.status, e.getMessage()).encode("close", false));
                lingerAndClose();
                return;
            }
            Response response;
            boolean keepAlive = request.keepAlive();
            try {
                response = server.routes().handle(request);
            } catch (RuntimeException e) {
                response = Response.error(500, "the server failed: " + e);
                keepAlive = false;
            }
            keepAlive = keepAlive && !server.draining();
            String connection = !keepAlive ? "close" : request.http10() ? "keep-alive" : null;
            out.write(response.encode(connection, request.method().equals("HEAD")));
            if (!keepAlive) {
                lingerAndClose();
                return;
            }
            state.set(IDLE);
            if (server.draining()) {
                return; // shutdown may have looked at this connection while it was busy
            }
        }
    }

    /** On shutdown: a connection waiting for its next request is closed at once. */
    void closeIfIdle() {
        if (state.compareAndSet(IDLE, CLOSED)) {
            close(); // its thread's blocked read fails, and the thread ends
        }
    }

    /**
     * Half-closes, then reads what the client is still sending before closing: closing a
     * socket with unread input makes the kernel send a reset, which can destroy the
     * response (a 431 or 413) before the client has read it.
     */
    private void lingerAndClose() {
        try {
            socket.shutdownOutput();
            socket.setSoTimeout(LINGER_MS);
            InputStream in = socket.getInputStream();
            byte[] sink = new byte[16_384];
            long dropped = 0;
            int n;
            while (dropped < LINGER_BYTES && (n = in.read(sink)) > 0) {
                dropped += n;
            }
        } catch (IOException e) {
            // timed out or reset: close anyway
        }
        close();
    }

    private void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
