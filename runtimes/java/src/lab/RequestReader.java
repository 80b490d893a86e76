package lab;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads HTTP/1.1 requests from one connection's stream with blocking reads: on a virtual
 * thread, a read that must wait parks the thread and frees its carrier.
 *
 * Requests are framed exactly as SPEC section 2 says: heads under HEAD_LIMIT bytes, bodies
 * (Content-Length or chunked) up to BODY_LIMIT bytes read and discarded. Bytes after a
 * request stay buffered for the next one, so pipelined requests are answered in order.
 */
final class RequestReader {
    /** A head of this many bytes or more gets 431 (SPEC: 8,192 must pass, 16,384 must not). */
    static final int HEAD_LIMIT = 16_384;
    static final long BODY_LIMIT = 1_048_576;
    private static final int LINE_LIMIT = 4_096; // a chunk-size or trailer line

    private final InputStream in;
    private final byte[] buf = new byte[2 * HEAD_LIMIT];
    private int pos;
    private int lim;

    RequestReader(InputStream in) {
        this.in = in;
    }

    /**
     * Blocks until the next request starts (a byte of it is buffered); false when the client
     * closed the connection between requests. Blank lines before a request are skipped
     * (RFC 9112 section 2.2).
     */
    boolean awaitRequest() throws IOException {
        while (true) {
            while (pos < lim && (buf[pos] == '\r' || buf[pos] == '\n')) {
                pos++;
            }
            if (pos < lim) {
                return true;
            }
            if (!fill()) {
                return false;
            }
        }
    }

    /** The next request head; its body is left unread (see discardBody). */
    Request readHead() throws IOException, HttpError {
        int scanned = 0; // bytes after pos known to hold no end of head
        while (true) {
            int end = headEnd(pos + scanned);
            if (end >= 0) {
                if (end - pos >= HEAD_LIMIT) {
                    throw tooLarge();
                }
                String head = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                pos = end;
                return Parser.parse(head);
            }
            if (lim - pos >= HEAD_LIMIT) {
                throw tooLarge();
            }
            scanned = Math.max(0, lim - pos - 2);
            if (!fill()) {
                throw new EOFException("the client closed the connection mid-request");
            }
        }
    }

    /** Reads and drops the request's body, so that the next request starts where it should. */
    void discardBody(Request request) throws IOException, HttpError {
        if (request.chunked()) {
            discardChunked();
        } else {
            skip(request.contentLength());
        }
    }

    private static HttpError tooLarge() {
        return new HttpError(431, "the request head is larger than " + HEAD_LIMIT + " bytes");
    }

    /** The index just past the blank line ending a head (LF LF or LF CR LF), or -1. */
    private int headEnd(int from) {
        for (int i = from; i < lim; i++) {
            if (buf[i] != '\n') {
                continue;
            }
            if (i + 1 < lim && buf[i + 1] == '\n') {
                return i + 2;
            }
            if (i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
                return i + 3;
            }
        }
        return -1;
    }

    /** Reads more bytes after the buffered ones; false at the end of the stream. */
    private boolean fill() throws IOException {
        if (pos == lim) {
            pos = lim = 0;
        } else if (lim == buf.length) {
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        int n = in.read(buf, lim, buf.length - lim);
        if (n < 0) {
            return false;
        }
        lim += n;
        return true;
    }

    private void skip(long count) throws IOException {
        while (count > 0) {
            if (pos == lim && !fill()) {
                throw new EOFException("the client closed the connection mid-body");
            }
            int n = (int) Math.min(count, lim - pos);
            pos += n;
            count -= n;
        }
    }

    private void discardChunked() throws IOException, HttpError {
        long total = 0;
        while (true) {
            String line = readLine();
            int ext = line.indexOf(';');
            String hex = (ext < 0 ? line : line.substring(0, ext)).strip();
            if (hex.isEmpty() || hex.length() > 8 || !hex.chars().allMatch(RequestReader::isHex)) {
                throw new HttpError(400, "invalid chunk size in a chunked body");
            }
            long size = Long.parseLong(hex, 16);
            total += size;
            if (total > BODY_LIMIT) {
                throw new HttpError(413, "the request body is larger than " + BODY_LIMIT + " bytes");
            }
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailer fields are ignored
                }
                return;
            }
            skip(size);
            if (!readLine().isEmpty()) {
                throw new HttpError(400, "a chunk of a chunked body is longer than its size");
            }
        }
    }

    private static boolean isHex(int c) {
        return Character.digit(c, 16) >= 0 && c < 0x80;
    }

    /** One line of a chunked body, without its CRLF (or LF). */
    private String readLine() throws IOException, HttpError {
        int scanned = 0;
        while (true) {
            for (int i = pos + scanned; i < lim; i++) {
                if (buf[i] == '\n') {
                    int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                    String line = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                    pos = i + 1;
                    return line;
                }
            }
            if (lim - pos >= LINE_LIMIT) {
                throw new HttpError(400, "a line of a chunked body is too long");
            }
            scanned = lim - pos;
            if (!fill()) {
                throw new EOFException("the client closed the connection mid-body");
            }
        }
    }
}
