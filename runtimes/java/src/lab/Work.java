package lab;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/** The CPU work of /cpu, /work and /hash, exactly as SPEC section 5 defines it. */
final class Work {
    static final char[] PASSWORD = "async-runtime-lab".toCharArray();
    static final byte[] SALT = "lab-salt".getBytes(StandardCharsets.US_ASCII);

    private Work() {
    }

    /** Busy-waits for ms milliseconds on the calling thread: no sleep, no yield. */
    static void spin(long ms) {
        long deadline = System.nanoTime() + ms * 1_000_000L;
        while (System.nanoTime() - deadline < 0) {
            // A virtual thread that never blocks is never unmounted: it holds its carrier.
        }
    }

    /** n rounds of the 32-bit FNV-style hash; Java's int arithmetic wraps modulo 2^32. */
    static String work(long n) {
        int h = 0x811C9DC5;
        for (int i = 0; i < n; i++) {
            h = (h ^ i) * 0x01000193;
        }
        return String.format("%08x", h);
    }

    /** PBKDF2-HMAC-SHA256 of the fixed password and salt, 32 bytes, as lowercase hex. */
    static String hash(int iterations) {
        try {
            SecretKeyFactory pbkdf2 = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            byte[] key = pbkdf2.generateSecret(new PBEKeySpec(PASSWORD, SALT, iterations, 256))
                    .getEncoded();
            return HexFormat.of().formatHex(key);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks PBKDF2WithHmacSHA256", e);
        }
    }
}
