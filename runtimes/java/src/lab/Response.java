package lab;

import java.nio.charset.StandardCharsets;

/** A complete response: every one carries Content-Length and Content-Type (SPEC section 2). */
record Response(int status, String contentType, byte[] body, boolean allowGet) {

    static final String TEXT = "text/plain; charset=utf-8";
    static final String JSON = "application/json";

    static Response text(String body) {
        return new Response(200, TEXT, body.getBytes(StandardCharsets.UTF_8), false);
    }

    static Response json(String body) {
        return new Response(200, JSON, body.getBytes(StandardCharsets.UTF_8), false);
    }

    static Response error(int status, String message) {
        String body = "{\"error\": " + Json.string(message) + "}";
        return new Response(status, JSON, body.getBytes(StandardCharsets.UTF_8), status == 405);
    }

    /**
     * Status line, headers and (unless the request was HEAD) the body, ready for one write;
     * {@code connection} is the Connection header's value, or null for none.
     */
    byte[] encode(String connection, boolean headOnly) {
        StringBuilder head = new StringBuilder(160)
                .append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n")
                .append("Content-Type: ").append(contentType).append("\r\n")
                .append("Content-Length: ").append(body.length).append("\r\n");
        if (allowGet) {
            head.append("Allow: GET\r\n");
        }
        if (connection != null) {
            head.append("Connection: ").append(connection).append("\r\n");
        }
        byte[] headBytes = head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
        if (headOnly) {
            return headBytes;
        }
        byte[] out = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, out, 0, headBytes.length);
        System.arraycopy(body, 0, out, headBytes.length, body.length);
        return out;
    }

    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 413 -> "Content Too Large";
            case 431 -> "Request Header Fields Too Large";
            case 501 -> "Not Implemented";
            case 505 -> "HTTP Version Not Supported";
            default -> "Internal Server Error";
        };
    }
}
