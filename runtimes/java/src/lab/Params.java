package lab;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Query parameters by SPEC section 4: name=value pairs, numbers as plain ASCII digits. */
final class Params {
    private final Map<String, String> values = new HashMap<>();
    private final Map<String, Integer> counts = new HashMap<>();

    /** query: the request target after '?', application/x-www-form-urlencoded. */
    Params(String query) {
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            values.put(name, decode(eq < 0 ? "" : pair.substring(eq + 1)));
            counts.merge(name, 1, Integer::sum);
        }
    }

    /**
     * application/x-www-form-urlencoded as SPEC section 4 spells it: '+' is a space, %XX a
     * byte, and a '%' not followed by two hex digits stays as it is (URLDecoder would throw,
     * which would turn a bad escape in a parameter nobody reads into a 400).
     */
    static String decode(String s) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '+') {
                bytes.write(' ');
            } else if (c == '%' && i + 2 < s.length() && hex(s.charAt(i + 1)) >= 0
                    && hex(s.charAt(i + 2)) >= 0) {
                bytes.write(hex(s.charAt(i + 1)) * 16 + hex(s.charAt(i + 2)));
                i += 2;
            } else {
                byte[] encoded = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(encoded, 0, encoded.length);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** An ASCII hex digit's value, else -1 (Character.digit also takes other scripts). */
    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        char lower = Character.toLowerCase(c);
        return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
    }

    /** A required integer parameter within [min, max]. */
    long number(String name, long min, long max) throws HttpError {
        String value = values.get(name);
        if (value == null) {
            throw new HttpError(400, "missing required parameter '" + name + "'");
        }
        return checked(name, value, min, max);
    }

    /** offload: absent is false, else 0 or 1 (leading zeros allowed, like every number). */
    boolean offload() throws HttpError {
        String value = values.get("offload");
        return value != null && checked("offload", value, 0, 1) == 1;
    }

    private long checked(String name, String value, long min, long max) throws HttpError {
        if (counts.get(name) > 1) {
            throw new HttpError(400, "parameter '" + name + "' is given more than once");
        }
        int first = 0; // leading zeros are allowed: skip them, but keep a last digit
        while (first < value.length() - 1 && value.charAt(first) == '0') {
            first++;
        }
        String digits = value.substring(first);
        boolean plain = !value.isEmpty() && value.chars().allMatch(c -> c >= '0' && c <= '9');
        // Longer than max's digits is out of range: no overflow, however long the value.
        long number = plain && digits.length() <= Long.toString(max).length()
                ? Long.parseLong(digits) : -1;
        if (number < min || number > max) {
            throw new HttpError(400, "parameter '" + name + "' must be a whole number from "
                    + min + " to " + max + ", got '" + value + "'");
        }
        return number;
    }
}
