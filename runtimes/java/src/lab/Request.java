package lab;

/**
 * A parsed request head: what routing and framing need, nothing more.
 *
 * @param keepAlive     whether the connection stays open after the response (SPEC section 2)
 * @param http10        an HTTP/1.0 request, whose client keeps the connection only when the
 *                      response says {@code Connection: keep-alive}
 * @param contentLength body bytes to discard; -1 with a chunked body
 */
record Request(String method, String target, boolean keepAlive, boolean http10,
               long contentLength) {

    boolean chunked() {
        return contentLength < 0;
    }

    String path() {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    String query() {
        int q = target.indexOf('?');
        return q < 0 ? "" : target.substring(q + 1);
    }
}
