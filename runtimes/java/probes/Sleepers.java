import java.util.ArrayList;
import java.util.List;

/**
 * 10,000 virtual threads each sleep 1 s, on one carrier thread (run with
 * -Djdk.virtualThreadScheduler.parallelism=1). Thread.sleep unmounts a virtual thread, so
 * the carrier starts the next one at once and all of them sleep together: about 1 s in
 * all, where one thread sleeping them in turn would take 10,000 s.
 */
public final class Sleepers {
    static final int THREADS = 10_000;

    public static void main(String[] args) throws InterruptedException {
        say("1 main: " + THREADS + " virtual threads on "
                + System.getProperty("jdk.virtualThreadScheduler.parallelism")
                + " carrier, each sleeps 1 s");
        long started = System.nanoTime();
        List<Thread> sleepers = new ArrayList<>(THREADS);
        for (int i = 0; i < THREADS; i++) {
            sleepers.add(Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread sleeper : sleepers) {
            sleeper.join();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        say(seconds < 10 ? "2 main: all woke within 10 s: each sleep unmounted its thread"
                : String.format("2 main: took %.1f s: the sleeps held the carrier", seconds));
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
