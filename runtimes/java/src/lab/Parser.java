package lab;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Parses one request head (request line and header fields) by RFC 9112, strictly. */
final class Parser {
    private Parser() {
    }

    /** head: everything up to and including the blank line, as ISO-8859-1 text. */
    static Request parse(String head) throws HttpError {
        List<String> lines = lines(head);
        String[] parts = lines.isEmpty() ? new String[0] : lines.get(0).split(" ", -1);
        if (parts.length != 3 || !isToken(parts[0]) || !isTarget(parts[1])) {
            throw new HttpError(400, "the request line is not 'METHOD /path HTTP/1.1'");
        }
        String version = parts[2];
        boolean http11 = version.equals("HTTP/1.1");
        if (!http11 && !version.equals("HTTP/1.0")) {
            throw version.matches("HTTP/[0-9]\\.[0-9]")
                    ? new HttpError(505, "only HTTP/1.1 and HTTP/1.0 are supported")
                    : new HttpError(400, "the request line has no valid HTTP version");
        }
        int hosts = 0;
        String connection = "";
        String contentLength = null;
        String transferEncoding = null;
        for (String line : lines.subList(1, lines.size())) {
            int colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line.substring(0, colon))) {
                throw new HttpError(400, "a header line is not 'Name: value'");
            }
            String value = line.substring(colon + 1).strip();
            switch (line.substring(0, colon).toLowerCase(Locale.ROOT)) {
                case "host" -> hosts++;
                case "connection" -> connection += "," + value.toLowerCase(Locale.ROOT);
                case "content-length" -> contentLength = sameLength(contentLength, value);
                case "transfer-encoding" -> transferEncoding = value.toLowerCase(Locale.ROOT);
                default -> {
                    // other fields do not matter to this server
                }
            }
        }
        if (http11 && hosts != 1) {
            throw new HttpError(400, "an HTTP/1.1 request needs exactly one Host header");
        }
        long length = 0;
        if (transferEncoding != null) {
            if (contentLength != null) {
                throw new HttpError(400, "a request cannot have both Transfer-Encoding and "
                        + "Content-Length");
            }
            if (!transferEncoding.equals("chunked")) {
                throw new HttpError(501, "the only transfer coding supported is chunked");
            }
            length = -1;
        } else if (contentLength != null) {
            // 19 digits may overflow a long, and are far over the limit anyway.
            length = contentLength.length() > 18 ? Long.MAX_VALUE : Long.parseLong(contentLength);
            if (length > RequestReader.BODY_LIMIT) {
                throw new HttpError(413, "the request body is larger than "
                        + RequestReader.BODY_LIMIT + " bytes");
            }
        }
        boolean keepAlive = http11 ? !hasToken(connection, "close")
                : hasToken(connection, "keep-alive");
        return new Request(parts[0], parts[1], keepAlive, !http11, length);
    }

    /** The head's lines without their line ends (CRLF, or a bare LF), up to the blank line. */
    private static List<String> lines(String head) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int end = head.indexOf('\n'); end >= 0; end = head.indexOf('\n', start)) {
            int stop = end > start && head.charAt(end - 1) == '\r' ? end - 1 : end;
            if (stop == start) {
                break;
            }
            lines.add(head.substring(start, stop));
            start = end + 1;
        }
        return lines;
    }

    /** A Content-Length value: digits only, and every copy of the field the same. */
    private static String sameLength(String earlier, String value) throws HttpError {
        for (String item : value.split(",", -1)) {
            String digits = item.strip();
            if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (earlier != null && !earlier.equals(digits))) {
                throw new HttpError(400, "invalid Content-Length");
            }
            earlier = digits;
        }
        return earlier;
    }

    private static boolean hasToken(String list, String token) {
        for (String item : list.split(",")) {
            if (item.strip().equals(token)) {
                return true;
            }
        }
        return false;
    }

    /** An RFC 9110 token: the method and header names. */
    static boolean isToken(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** An origin-form target: starts with '/', visible ASCII only. */
    private static boolean isTarget(String s) {
        if (!s.startsWith("/")) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }
}
