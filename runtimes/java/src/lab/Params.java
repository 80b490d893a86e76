package lab;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Query parameters by SPEC section 4: name=value pairs, numbers as plain ASCII digits. */
final class Params {
    private final Map<String, String> values = new HashMap<>();
    private final Map<String, Integer> counts = new HashMap<>();

    /** query: the request target after '?', application/x-www-form-urlencoded. */
    Params(String query) throws HttpError {
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

    private static String decode(String s) throws HttpError {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, "the query string has a malformed %-escape");
        }
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
